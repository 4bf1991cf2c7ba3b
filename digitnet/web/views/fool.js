if (!value) return `<div class="dn-explore-empty">Draw a digit (or pick an example), choose the digit the network
  should see instead, and press the button.</div>`;
const v = value, a = v.after;
const most = Math.max(1, ...v.difference.map(Math.abs)), gain = 255 / most;  // shown at full strength
const diff = v.difference.map((d) => Math.round(Math.abs(d) * gain)).map((m, i) =>
  v.difference[i] >= 0 ? `255,${255 - m},${255 - m}` : `${255 - m},${255 - m},255`);
const fig = (rgb, caption, cls = "") =>
  `<figure>${grid(rgb, "small " + cls)}<figcaption>${caption}</figcaption></figure>`;
const outcome = v.success
  ? `The network now says <b>${a.digit}</b>, ${(100 * a.confidence).toFixed(1)}% sure.`
  : `No change within the budget made the network say ${v.target} with 99% confidence; the closest is shown.`;
return `<div class="dn-fool" data-model="${v.model}" data-success="${v.success}">
  <div class="dn-fool-figs">${fig(grey(v.original), `Yours: ${v.before ? v.before.digit : "?"}`)}
  ${fig(grey(v.image), `Changed: ${a.digit}`, "changed")}
  ${fig(diff, `The change, ${gain.toFixed(1)}x stronger (red: more ink, blue: less)`)}</div>
  <div class="dn-fool-outcome"><span>${outcome}</span>${pill(a)}</div>
  <div class="dn-fool-size">Changed: ${v.pixels_changed} of 784 pixels; size of the change (L2) ${v.l2.toFixed(2)},
    largest single pixel change ${Math.round(100 * v.linf)}% of full ink.</div>${chart(a)}</div>`;
