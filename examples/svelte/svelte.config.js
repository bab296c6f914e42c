// Svelte 5 compiles `<script lang="ts">` itself (types are stripped): no preprocessor needed.
export default {};
