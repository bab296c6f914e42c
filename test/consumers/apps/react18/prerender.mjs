// Puts the server-rendered HTML into the client build's page: dist/index.html, as a server would
// send it. Run after `vite build` and `vite build --ssr src/server.jsx --outDir dist-server`.
import { readFileSync, writeFileSync } from "node:fs";
import { render } from "./dist-server/server.js";

const page = readFileSync("dist/index.html", "utf8");
if (!page.includes("<!--ssr-->")) throw new Error("dist/index.html has no <!--ssr--> mark");
const html = await render();
writeFileSync("dist/index.html", page.replace("<!--ssr-->", html));
process.stdout.write(html);
