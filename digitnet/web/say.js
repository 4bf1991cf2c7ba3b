const say = (a) => {
  if (!a) return "";
  const order = a.probabilities.map((p, d) => [p, d]).sort((x, y) => y[0] - x[0]);
  const v = a.verdict, pc = (p) => `${Math.round(100 * p)}%`;
  const verdict = !v ? "" : v.not_a_digit ? ", probably not a digit" : ", looks like a digit";
  return `${a.digit}, ${pc(a.confidence)} sure${verdict}; next: ${order[1][1]} at ${pc(order[1][0])}`;
};
