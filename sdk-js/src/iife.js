// Entry of dist/ecrm.min.js, the tag pages load.
import { install } from './install.js'

try { install(window, document.currentScript) } catch (e) {}
