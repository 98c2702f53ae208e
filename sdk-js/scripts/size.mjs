// Prints the gzip -9 size of dist/ecrm.min.js; fails above the budget.
import { readFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'

const LIMIT = 3072
const file = new URL('../dist/ecrm.min.js', import.meta.url)
const raw = readFileSync(file)
const gz = gzipSync(raw, { level: 9 }).length
console.log(`dist/ecrm.min.js: ${raw.length} bytes, ${gz} bytes gzip -9 (limit ${LIMIT})`)
if (gz > LIMIT) {
  console.error(`size: over budget by ${gz - LIMIT} bytes`)
  process.exit(1)
}
