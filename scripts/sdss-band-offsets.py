#!/usr/bin/env python3
# Usage: PHOTOZ_VENV/bin/python scripts/sdss-band-offsets.py [FIELD_DIR]
# (default ../shared/data/sdss-frames/2583-2-136; needs astropy and scipy, the interop venv).
# Star centroids measured directly on the raw SDSS frames of field 2583-2-136, independent of
# photoz: for every band, the offset of each star's centroid (through that band's own WCS) from
# its r-band position, in arcsec and r pixels, with the S/N in that band and the star's colour.
import json, os, sys, warnings
import numpy as np
from astropy.io import fits
from astropy.wcs import WCS, FITSFixedWarning
from scipy import ndimage
warnings.simplefilter("ignore", FITSFixedWarning)
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
candidates = [os.path.join(root, up, "shared/data/sdss-frames/2583-2-136") for up in ["..", "../.."]]
field = sys.argv[1] if len(sys.argv) > 1 else next((c for c in candidates if os.path.isdir(c)), candidates[0])
bands = "ugriz"
img, wcs, hdr = {}, {}, {}
for b in bands:
    h = fits.open(f"{field}/frame-{b}-002583-2-0136.fits.bz2")
    img[b] = h[0].data.astype(np.float64); wcs[b] = WCS(h[0].header); hdr[b] = h[0].header
H, W = img["r"].shape
yy, xx = np.mgrid[-7:8, -7:8]

def centroid(a, x, y):
    cx, cy = x, y
    for _ in range(10):
        x0, y0 = int(round(cx)), int(round(cy))
        if x0 < 8 or y0 < 8 or x0 >= a.shape[1] - 8 or y0 >= a.shape[0] - 8: return None
        cut = a[y0 - 7:y0 + 8, x0 - 7:x0 + 8]
        w = cut * np.exp(-((xx + x0 - cx) ** 2 + (yy + y0 - cy) ** 2) / 8)
        s = w.sum()
        if not np.isfinite(s) or s <= 0: return None
        cx, cy = (w * (xx + x0)).sum() / s, (w * (yy + y0)).sum() / s
    return cx, cy

def sky_sigma(a):
    return 1.4826 * np.median(np.abs(a - np.median(a)))

def windowed(a, x, y, sigma=2.0):
    x0, y0 = int(round(x)), int(round(y))
    cut = a[y0 - 7:y0 + 8, x0 - 7:x0 + 8]
    w = np.exp(-((xx + x0 - x) ** 2 + (yy + y0 - y) ** 2) / (2 * sigma ** 2))
    return (w * cut).sum(), np.sqrt((w ** 2).sum())

noise = {b: sky_sigma(img[b]) for b in bands}
r = img["r"]
maxf = ndimage.maximum_filter(r, size=25)
cand = np.argwhere((r == maxf) & (r > 3) & (r < 120))
stars = []
for y, x in cand:
    if x < 40 or y < 40 or x >= W - 40 or y >= H - 40: continue
    c = centroid(r, float(x), float(y))
    if c is None: continue
    # second-moment radius within 5 px (stars < 2 px), as in the Swift test
    x0, y0 = int(round(c[0])), int(round(c[1]))
    cut = r[y0 - 5:y0 + 6, x0 - 5:x0 + 6]; gy, gx = np.mgrid[y0 - 5:y0 + 6, x0 - 5:x0 + 6]
    d2 = (gx - c[0]) ** 2 + (gy - c[1]) ** 2; m = d2 <= 25
    s = cut[m].sum()
    if s <= 0 or np.sqrt((cut[m] * d2[m]).sum() / s / 2) >= 2: continue
    ra, dec = wcs["r"].all_pix2world([[c[0], c[1]]], 0)[0]
    stars.append((ra, dec))
stars = np.array(stars)
rows = []
for ra, dec in stars:
    rec = {"ra": ra, "dec": dec}
    ok = True
    for b in bands:
        px = wcs[b].all_world2pix([[ra, dec]], 0)[0]
        c = centroid(img[b], px[0], px[1])
        if c is None: ok = False; break
        sra, sdec = wcs[b].all_pix2world([[c[0], c[1]]], 0)[0]
        f, wnorm = windowed(img[b], c[0], c[1])
        rec[b] = {"dra": (sra - ra) * np.cos(np.radians(dec)) * 3600, "ddec": (sdec - dec) * 3600, "flux": f, "snr": f / (noise[b] * wnorm)}
    if ok: rows.append(rec)
print(f"{len(stars)} stars found in r, {len(rows)} measured in all bands")
for k in ["AIRMASS", "ALT", "AZ", "HA", "TAI", "RA", "DEC", "SPA", "IPA"]:
    print(k, [hdr[b].get(k) for b in bands])
def mag(f): return 22.5 - 2.5 * np.log10(np.maximum(f, 1e-3))
ur = np.array([mag(s["u"]["flux"]) - mag(s["r"]["flux"]) for s in rows])
gr = np.array([mag(s["g"]["flux"]) - mag(s["r"]["flux"]) for s in rows])
snr_u = np.array([s["u"]["snr"] for s in rows])
def summary(sel, label):
    out = [label, f"n={sel.sum()}"]
    for b in bands:
        dra = np.array([s[b]["dra"] for s in rows])[sel]; dd = np.array([s[b]["ddec"] for s in rows])[sel]
        n = len(dra)
        if n == 0: continue
        e = lambda v: 1.2533 * np.std(v) / np.sqrt(n)
        out.append(f"{b}: dRA {np.median(dra)/0.396:+.3f}±{e(dra)/0.396:.3f} dDec {np.median(dd)/0.396:+.3f}±{e(dd)/0.396:.3f} px")
    print("  ".join(out))
allsel = np.ones(len(rows), bool)
summary(allsel, "all")
for lo, hi in [(0, 10), (10, 30), (30, 100), (100, 1e9)]:
    summary((snr_u >= lo) & (snr_u < hi), f"u S/N {lo}-{hi}")
for lo, hi in [(-9, 1.0), (1.0, 1.5), (1.5, 2.0), (2.0, 2.5), (2.5, 9)]:
    summary((ur >= lo) & (ur < hi) & (snr_u > 20), f"u-r {lo}-{hi} (u S/N>20)")
for lo, hi in [(-9, 0.4), (0.4, 0.8), (0.8, 1.2), (1.2, 9)]:
    summary((gr >= lo) & (gr < hi) & (snr_u > 20), f"g-r {lo}-{hi} (u S/N>20)")
# linear fit of u-r Dec offset vs u-r colour for bright u stars
sel = snr_u > 20
dd = np.array([s["u"]["ddec"] for s in rows])[sel] / 0.396
A = np.vstack([np.ones(sel.sum()), ur[sel]]).T
coef, *_ = np.linalg.lstsq(A, dd, rcond=None)
print("u dDec [px] = %.3f + %.3f*(u-r), for u S/N>20, n=%d" % (coef[0], coef[1], sel.sum()))
dd = np.array([s["g"]["ddec"] for s in rows])[sel] / 0.396
coef, *_ = np.linalg.lstsq(np.vstack([np.ones(sel.sum()), gr[sel]]).T, dd, rcond=None)
print("g dDec [px] = %.3f + %.3f*(g-r), for u S/N>20, n=%d" % (coef[0], coef[1], sel.sum()))
rng = np.random.default_rng(1)
for b in bands:
    for key in ["dra", "ddec"]:
        v = np.array([s[b][key] for s in rows]) / 0.396
        boot = [np.median(rng.choice(v, len(v))) for _ in range(2000)]
        print(f"{b} {key}: median {np.median(v):+.3f} +- {np.std(boot):.3f} px (bootstrap, n={len(v)})")
