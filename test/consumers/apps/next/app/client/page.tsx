import { Sessions } from "./sessions";

export default function ClientPage() {
  return <Sessions />;
}
