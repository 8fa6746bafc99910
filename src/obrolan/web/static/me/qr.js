// A QR code drawn as SVG elements (never markup text): one path of dark modules on a
// light square with a four-module margin, dark on light in both colour schemes so every
// camera reads it.
import { html } from "../core/state.js";
import { encode } from "../vendor/uqr.mjs";

export function QrCode({ text, label }) {
  const { data, size } = encode(text, { ecc: "M", border: 4 }) // the quiet zone the standard asks for;
  let d = "";
  data.forEach((row, y) => row.forEach((dark, x) => { if (dark) d += `M${x} ${y}h1v1h-1z`; }));
  return html`
    <svg class="qr" data-testid="totp-qr" viewBox=${`0 0 ${size} ${size}`} role="img" aria-label=${label}
      shape-rendering="crispEdges" width="200" height="200">
      <rect width=${size} height=${size} fill="#ffffff" />
      <path d=${d} fill="#000000" />
    </svg>`;
}
