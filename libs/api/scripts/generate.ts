// Writes the CRD manifests (deploy/crds) and the TypeScript types (libs/api/src/types.generated.ts)
// from the schema source. Run after changing libs/api/src/schema:
//   node_modules/.bin/node libs/api/scripts/generate.ts
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { generatedFiles, REPOSITORY_ROOT } from "../src/generate/files.ts";

for (const [path, content] of Object.entries(generatedFiles())) {
  const target = join(REPOSITORY_ROOT, path);
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, content);
  console.log(`wrote ${path}`);
}
