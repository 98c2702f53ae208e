// Small inline SVG charts: horizontal bars, vertical bars (a histogram)
// and a curve. Every label is a text node.
import { s, int } from './lib.js'

const W = 640

/** Horizontal bars: [{label, value, note}] (note: text after the value). */
export function hbars(items, { title, format = int } = {}) {
  const rowH = 34, labelW = 150, pad = 8
  const max = Math.max(1, ...items.map((i) => i.value))
  const height = items.length * rowH + pad
  const g = items.map((it, i) => {
    const y = pad + i * rowH
    const w = Math.max(1, (W - labelW - 170) * (it.value / max))
    return s('g', null,
      s('text', { x: labelW - 8, y: y + 17, 'text-anchor': 'end', 'dominant-baseline': 'middle', class: 'lbl' }, it.label),
      s('rect', { x: labelW, y, width: w.toFixed(1), height: rowH - 10, rx: 3, class: 'bar' }),
      s('text', { x: labelW + w + 6, y: y + 17, 'dominant-baseline': 'middle', class: 'val' },
        format(it.value) + (it.note ? '  ' + it.note : '')))
  })
  return s('svg', { viewBox: `0 0 ${W} ${height}`, role: 'img', 'aria-label': title, class: 'chart' }, s('title', null, title), ...g)
}

/** Vertical bars: [{label, value}]. */
export function vbars(items, { title, format = int } = {}) {
  const H = 220, bottom = 40, top = 20, left = 10
  const max = Math.max(1, ...items.map((i) => i.value))
  const slot = (W - left * 2) / Math.max(1, items.length)
  const g = items.map((it, i) => {
    const h = (H - bottom - top) * (it.value / max)
    const x = left + i * slot
    return s('g', null,
      s('rect', { x: (x + 4).toFixed(1), y: (H - bottom - h).toFixed(1), width: (slot - 8).toFixed(1), height: Math.max(h, 0.5).toFixed(1), rx: 2, class: 'bar' }),
      s('text', { x: (x + slot / 2).toFixed(1), y: (H - bottom - h - 5).toFixed(1), 'text-anchor': 'middle', class: 'val' }, format(it.value)),
      s('text', { x: (x + slot / 2).toFixed(1), y: H - bottom + 16, 'text-anchor': 'middle', class: 'lbl small' }, it.label))
  })
  return s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': title, class: 'chart' }, s('title', null, title),
    s('line', { x1: left, x2: W - left, y1: H - bottom, y2: H - bottom, class: 'axis' }), ...g)
}

/**
 * A curve through points [{x, y}] with x and y in [0, 1] (shares), with
 * the diagonal (equal shares) for reference.
 */
export function curve(points, { title, xLabel, yLabel } = {}) {
  const H = 300, m = { l: 50, r: 20, t: 16, b: 44 }
  const X = (x) => m.l + x * (W - m.l - m.r)
  const Y = (y) => H - m.b - y * (H - m.t - m.b)
  const grid = [0, 0.25, 0.5, 0.75, 1].map((t) => s('g', null,
    s('line', { x1: X(0), x2: X(1), y1: Y(t), y2: Y(t), class: 'grid' }),
    s('text', { x: m.l - 6, y: Y(t), 'text-anchor': 'end', 'dominant-baseline': 'middle', class: 'lbl small' }, Math.round(t * 100) + '%'),
    s('text', { x: X(t), y: H - m.b + 16, 'text-anchor': 'middle', class: 'lbl small' }, Math.round(t * 100) + '%')))
  const pts = [{ x: 0, y: 0 }, ...points]
  const d = pts.map((p, i) => (i ? 'L' : 'M') + X(p.x).toFixed(1) + ' ' + Y(p.y).toFixed(1)).join(' ')
  return s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': title, class: 'chart' }, s('title', null, title),
    ...grid,
    s('line', { x1: X(0), y1: Y(0), x2: X(1), y2: Y(1), class: 'diag', 'stroke-dasharray': '4 4' }),
    s('path', { d, class: 'line', fill: 'none' }),
    ...points.map((p) => s('circle', { cx: X(p.x).toFixed(1), cy: Y(p.y).toFixed(1), r: 4, class: 'dot' },
      s('title', null, `top ${Math.round(p.x * 100)}% → ${(p.y * 100).toFixed(1)}% of revenue`))),
    s('text', { x: X(0.5), y: H - 6, 'text-anchor': 'middle', class: 'lbl' }, xLabel || ''),
    s('text', { x: m.l + 8, y: m.t + 4, class: 'lbl small' }, yLabel || ''))
}

/**
 * An interval on a horizontal axis: the estimate and its [low, high]
 * around zero, for an uplift.
 */
export function interval({ low, high, value, title, format }) {
  const H = 70, m = 30
  const lo = Math.min(low, 0, value), hi = Math.max(high, 0, value)
  const span = (hi - lo) || 1
  const X = (v) => m + ((v - lo + span * 0.1) / (span * 1.2)) * (W - 2 * m)
  return s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': title, class: 'chart interval' }, s('title', null, title),
    s('line', { x1: X(0), x2: X(0), y1: 8, y2: H - 22, class: 'zero' }),
    s('text', { x: X(0), y: H - 6, 'text-anchor': 'middle', class: 'lbl small' }, '0'),
    s('line', { x1: X(low), x2: X(high), y1: 30, y2: 30, class: 'ci', 'stroke-width': 6 }),
    s('circle', { cx: X(value), cy: 30, r: 7, class: 'dot' }),
    s('text', { x: X(low), y: 54, 'text-anchor': 'middle', class: 'lbl small' }, format(low)),
    s('text', { x: X(high), y: 54, 'text-anchor': 'middle', class: 'lbl small' }, format(high)),
    s('text', { x: X(value), y: 16, 'text-anchor': 'middle', class: 'val' }, format(value)))
}
