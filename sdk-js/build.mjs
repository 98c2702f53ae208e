// Builds dist/ecrm.min.js (minified IIFE, the tag) and dist/ecrm.esm.js (ESM).
//   node build.mjs [outdir]   (default: dist)
import { build as esbuild } from 'esbuild'
import { mkdirSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = dirname(fileURLToPath(import.meta.url))

export async function build(outdir = join(root, 'dist')) {
  mkdirSync(outdir, { recursive: true })
  const common = { absWorkingDir: root, bundle: true, target: 'es2017', legalComments: 'none', logLevel: 'warning', charset: 'utf8' }
  await esbuild({ ...common, entryPoints: [join(root, 'src/iife.js')], outfile: join(outdir, 'ecrm.min.js'), format: 'iife', minify: true })
  await esbuild({ ...common, entryPoints: [join(root, 'src/index.js')], outfile: join(outdir, 'ecrm.esm.js'), format: 'esm' })
  return ['ecrm.min.js', 'ecrm.esm.js']
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await build(process.argv[2])
}
