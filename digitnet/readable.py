"""An answer as one sentence a screen reader can read: the JavaScript shared by the pad's readout and the views.

`say(a)` takes an answer as digitnet/views.answer makes it (digit, confidence, probabilities, verdict) and returns
"7, 100% sure, looks like a digit; next: 1 at 0%". Plain JavaScript with no imports, so that the pad (which must
not import torch) and the views' templates can both include it.
"""

SAY_JS = """
const say = (a) => {
  if (!a) return "";
  const order = a.probabilities.map((p, d) => [p, d]).sort((x, y) => y[0] - x[0]);
  const v = a.verdict, pc = (p) => `${Math.round(100 * p)}%`;
  const verdict = !v ? "" : v.not_a_digit ? ", probably not a digit" : ", looks like a digit";
  return `${a.digit}, ${pc(a.confidence)} sure${verdict}; next: ${order[1][1]} at ${pc(order[1][0])}`;
};
"""
