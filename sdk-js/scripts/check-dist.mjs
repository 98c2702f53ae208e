// Rebuilds into a temporary directory and fails if dist/ differs: the
// committed build must be what the sources produce.
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { build } from '../build.mjs'

const dist = new URL('../dist/', import.meta.url).pathname
const tmp = mkdtempSync(join(tmpdir(), 'ecrm-dist-'))
let stale = []
try {
  for (const f of await build(tmp)) {
    const want = readFileSync(join(tmp, f))
    const have = existsSync(join(dist, f)) ? readFileSync(join(dist, f)) : null
    if (!have || !want.equals(have)) stale.push(f)
  }
} finally {
  rmSync(tmp, { recursive: true, force: true })
}
if (stale.length) {
  console.error(`check-dist: dist/ is stale (${stale.join(', ')}); run npm run build and commit dist/`)
  process.exit(1)
}
console.log('check-dist: dist/ matches the sources')
