// Entry of dist/ecrm.esm.js, for bundlers:
//   import { createTracker } from './ecrm.esm.js'
//   const ecrm = createTracker(window); ecrm.load('WRITE_KEY', { host: 'https://collect.example.com' })
export { createTracker } from './tracker.js'
export { install } from './install.js'
export { VERSION } from './version.js'
