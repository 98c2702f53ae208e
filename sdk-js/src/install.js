// Installs the tracker as window.ecrm, replacing the snippet's stub (an array
// of [method, ...args] calls, each maybe carrying `r`, the resolve function of
// the promise the stub returned) and replaying its calls in order. Installing
// twice is harmless: the second time finds the real tracker and returns it.
// The stub's methods are replaced by the tracker's, so that code that kept a
// reference to the stub (var e = window.ecrm) keeps working.
import { createTracker } from './tracker.js'

/**
 * @param {Window} w
 * @param {HTMLScriptElement} [script] the tag's own script element (document.currentScript)
 */
export function install(w, script) {
  var q = w.ecrm
  if (q && q.__ecrm) return q
  var t = w.ecrm = createTracker(w, script && script.src)
  if (!Array.isArray(q)) q = []
  // A page that kept a reference to the stub reaches the tracker through it too.
  Object.assign(q, t)
  q.forEach(function (c) {
    var f = t[c[0]]
    var r = f && f.apply(t, [].slice.call(c, 1))
    c.r && c.r(r)
  })
  return t
}
