/**
 * Special functions needed by the batch drift tests, in plain float64.
 *
 * Accuracy goal: ~1e-13 relative over the ranges the tests use, which is far
 * tighter than the 1e-6 relative tolerance the fixtures check p-values with.
 */

const EPS = 2.220446049250313e-16;
const FPMIN = 1e-300;

/* eslint-disable no-loss-of-precision -- Lanczos coefficients (g = 607/128) as printed in Numerical Recipes 3rd ed. `gammln`; each literal rounds to the double NR's C++ gets from the same text */
const LANCZOS = [
  57.1562356658629235, -59.5979603554754912, 14.1360979747417471, -0.491913816097620199, 0.339946499848118887e-4, 0.465236289270485756e-4,
  -0.983744753048795646e-4, 0.158088703224912494e-3, -0.210264441724104883e-3, 0.217439618115212643e-3, -0.16431810653676389e-3, 0.844182239838527433e-4,
  -0.261908384015814087e-4, 0.368991826595316234e-5,
];

/** ln Γ(x) for x > 0 (Lanczos, g = 607/128). */
export function lgamma(xx: number): number {
  if (xx <= 0) throw new RangeError('lgamma: x must be > 0');
  if (xx < 0.5) {
    // reflection keeps accuracy for tiny arguments
    return Math.log(Math.PI / Math.sin(Math.PI * xx)) - lgamma(1 - xx);
  }
  let y = xx;
  const x = xx;
  let tmp = x + 5.2421875;
  tmp = (x + 0.5) * Math.log(tmp) - tmp;
  let ser = 0.999999999999997092;
  for (let j = 0; j < 14; j++) ser += LANCZOS[j]! / ++y;
  return tmp + Math.log((2.5066282746310005 * ser) / x);
}
/* eslint-enable no-loss-of-precision */

/** ln n! with an exact table for small n. */
const LOGFACT: number[] = [0];
for (let i = 1; i <= 256; i++) LOGFACT.push(LOGFACT[i - 1]! + Math.log(i));
export function logFactorial(n: number): number {
  if (n <= 256) return LOGFACT[n]!;
  return lgamma(n + 1);
}

/** ln C(n, k). */
export function logBinom(n: number, k: number): number {
  return logFactorial(n) - logFactorial(k) - logFactorial(n - k);
}

function gser(a: number, x: number, gln: number): number {
  let ap = a;
  let del = 1 / a;
  let sum = del;
  for (let i = 0; i < 100000; i++) {
    ++ap;
    del *= x / ap;
    sum += del;
    if (Math.abs(del) < Math.abs(sum) * EPS) break;
  }
  return sum * Math.exp(-x + a * Math.log(x) - gln);
}

function gcf(a: number, x: number, gln: number): number {
  let b = x + 1 - a;
  let c = 1 / FPMIN;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 100000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < FPMIN) d = FPMIN;
    c = b + an / c;
    if (Math.abs(c) < FPMIN) c = FPMIN;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) <= EPS) break;
  }
  return Math.exp(-x + a * Math.log(x) - gln) * h;
}

/** Regularized upper incomplete gamma Q(a, x). */
export function gammaincc(a: number, x: number): number {
  if (x <= 0) return 1;
  if (!Number.isFinite(x)) return 0;
  const gln = lgamma(a);
  if (x < a + 1) return 1 - gser(a, x, gln);
  return gcf(a, x, gln);
}

/** erfc(x), accurate in the tail. */
export function erfc(x: number): number {
  if (x < 0) return 2 - erfc(-x);
  if (x === 0) return 1;
  return gammaincc(0.5, x * x);
}

/** Standard normal CDF (scipy.special.ndtr). */
export function normCdf(z: number): number {
  return 0.5 * erfc(-z / Math.SQRT2);
}

/** Chi-square survival function with k degrees of freedom. */
export function chi2Sf(x: number, k: number): number {
  if (x <= 0) return 1;
  return gammaincc(k / 2, x / 2);
}

function betacf(a: number, b: number, x: number): number {
  const qab = a + b;
  const qap = a + 1;
  const qam = a - 1;
  let c = 1;
  let d = 1 - (qab * x) / qap;
  if (Math.abs(d) < FPMIN) d = FPMIN;
  d = 1 / d;
  let h = d;
  for (let m = 1; m < 1_000_000; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < FPMIN) d = FPMIN;
    c = 1 + aa / c;
    if (Math.abs(c) < FPMIN) c = FPMIN;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < FPMIN) d = FPMIN;
    c = 1 + aa / c;
    if (Math.abs(c) < FPMIN) c = FPMIN;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) <= EPS) break;
  }
  return h;
}

/**
 * Regularized incomplete beta I_x(a, b). `y` = 1 - x may be given exactly
 * to avoid cancellation.
 */
export function betainc(a: number, b: number, x: number, y = 1 - x): number {
  if (x <= 0) return 0;
  if (y <= 0) return 1;
  const lbeta = lgamma(a) + lgamma(b) - lgamma(a + b);
  const front = Math.exp(a * Math.log(x) + b * Math.log(y) - lbeta);
  if (x < (a + 1) / (a + b + 2)) return (front * betacf(a, b, x)) / a;
  return 1 - (front * betacf(b, a, y)) / b;
}

/** Student t survival function P(T > t) with df degrees of freedom. */
export function tSf(t: number, df: number): number {
  const t2 = t * t;
  // P(|T| > |t|) = I_{df/(df+t^2)}(df/2, 1/2)
  const twoSided = betainc(df / 2, 0.5, df / (df + t2), t2 / (df + t2));
  return t > 0 ? twoSided / 2 : 1 - twoSided / 2;
}

/**
 * exp(z) * K_nu(z), the exponentially scaled modified Bessel function of the
 * second kind, by the trapezoidal rule on K_nu(z) = ∫_0^∞ e^{-z cosh t} cosh(nu t) dt,
 * which converges geometrically for this doubly-exponentially decaying integrand.
 */
export function besselKScaled(nu: number, z: number): number {
  const h = 0.02;
  let sum = 0.5; // t = 0: exp(-z (cosh 0 - 1)) cosh(0) = 1, half weight
  for (let i = 1; i < 100000; i++) {
    const t = i * h;
    const term = Math.exp(-z * (Math.cosh(t) - 1)) * Math.cosh(nu * t);
    sum += term;
    if (term < 1e-18 * sum) break;
  }
  return sum * h;
}
