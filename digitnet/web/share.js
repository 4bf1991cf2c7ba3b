// Links to a drawing: the same format and limits as digitnet/share.py (see there).
const LINK = { KEY: "__KEY__", VERSION: "__VERSION__", MAX_DATA: __MAX_DATA__, STROKES: __MAX_STROKES__,
  POINTS: __MAX_POINTS__, UNIT: __UNIT__, LOW: __LOW__, HIGH: __HIGH__,
  MIN_PEN: __MIN_PEN__, MAX_PEN: __MAX_PEN__ };
function encodeLink(strokes, width, model) {
  const bytes = [], put = (n) => {
    let z = n >= 0 ? 2 * n : -2 * n - 1;
    while (z >= 128) { bytes.push((z & 127) | 128); z = Math.floor(z / 128); }
    bytes.push(z);
  };
  let x = 0, y = 0;
  put(strokes.length);
  for (const s of strokes) {
    put(s.length / 2);
    for (let i = 0; i < s.length; i += 2) {
      const px = Math.round(LINK.UNIT * s[i]), py = Math.round(LINK.UNIT * s[i + 1]);
      put(px - x); put(py - y); x = px; y = py;
    }
  }
  const data = btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  return `${LINK.KEY}=${LINK.VERSION}.${model}.${Math.round(width)}.${data}`;
}
function decodeLink(fragment, models) {
  const fail = (why) => { throw new Error(why); };
  if (fragment.length > LINK.MAX_DATA + 64) fail(`it is ${fragment.length} characters long, more than any drawing`);
  const m = fragment.match(/^draw=([^.]*)\.([^.]*)\.(\d{1,3})\.([A-Za-z0-9_-]*)$/);
  if (!m || m[1] !== LINK.VERSION || m[4].length % 4 === 1) fail("it is not a drawing link, or it was cut short");
  if (!models.includes(m[2])) fail(`it names an unknown network, "${m[2].slice(0, 40)}"`);
  const width = +m[3];
  if (width < LINK.MIN_PEN || width > LINK.MAX_PEN) fail(`its pen width must be ${LINK.MIN_PEN}-${LINK.MAX_PEN}`);
  const raw = atob(m[4].replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - m[4].length % 4) % 4));
  let at = 0;
  const get = () => {
    let z = 0, k = 1;
    for (;;) {
      if (at >= raw.length || k > 2 ** 14) fail("its drawing is cut short or malformed");
      const b = raw.charCodeAt(at++);
      z += (b & 127) * k; k *= 128;
      if (b < 128) return z % 2 ? -(z + 1) / 2 : z / 2;
    }
  };
  const count = get(), strokes = [];
  if (count < 0 || count > LINK.STROKES) fail(`its drawing has ${count} strokes; the limit is ${LINK.STROKES}`);
  let x = 0, y = 0, total = 0;
  for (let i = 0; i < count; i++) {
    const n = get(), s = [];
    total += n;
    if (n < 1 || total > LINK.POINTS) fail(`its drawing has more than ${LINK.POINTS} points, or an empty stroke`);
    for (let j = 0; j < n; j++) {
      x += get(); y += get();
      if (x < LINK.LOW || x > LINK.HIGH || y < LINK.LOW || y > LINK.HIGH) fail("its points lie off the pad");
      s.push(x / LINK.UNIT, y / LINK.UNIT);
    }
    strokes.push(s);
  }
  if (at !== raw.length) fail("its drawing has bytes left over");
  return { strokes, width, model: m[2] };
}
