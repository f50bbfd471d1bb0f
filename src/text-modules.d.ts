// Files bundled into the binary as text (`import x from "./f.yaml" with { type: "text" }`):
// Bun inlines them at build time, so the compiled binary carries them.
declare module "*.yaml" {
  const text: string;
  export default text;
}
