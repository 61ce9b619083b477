// The preview page: polls /state.json once a second, fetches /image.png when the image
// changed (decoded off-screen, then swapped in, so nothing flickers) and draws the cost
// curve on a canvas with a log-scale y axis.
"use strict";

const POLL_MS = 1000;
const COLOURS = { J: "#1f77b4", J_content: "#d62728", J_style: "#2ca02c" };
const NAMES = ["J", "J_content", "J_style"];
let shownImage = 0;
let fetchingImage = false;
let failures = 0;

function $(id) { return document.getElementById(id); }

function number(value) {
  return value === null || value === undefined ? "-" : Number(value).toPrecision(5);
}

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "-";
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  if (h) return `${h}h${String(m).padStart(2, "0")}m`;
  return m ? `${m}m${String(r).padStart(2, "0")}s` : `${r}s`;
}

function show(state) {
  $("command").textContent = state.command;
  $("label").textContent = state.label;
  $("status").textContent = state.status;
  $("status").className = `status ${state.status}`;
  $("iteration").textContent = `${state.iteration} of ${state.iterations}`;
  $("bar").max = Math.max(1, state.iterations);
  $("bar").value = state.iteration;
  for (const name of NAMES) $(name).textContent = number(state[name]);
  $("scale-row").hidden = state.scales <= 1;
  $("scale").textContent = `${state.scale} of ${state.scales}`;
  $("elapsed").textContent = duration(state.elapsed);
  $("left").textContent = duration(state.left);
  $("job-row").hidden = !state.job;
  if (state.job) $("job").textContent = `${state.job.index} of ${state.job.total}`;
  $("batch-row").hidden = !state.batch;
  if (state.batch) {
    const b = state.batch;
    $("batch").textContent =
      `${b.done} done, ${b.failed} failed of ${b.total}; ${duration(b.left)} left`;
  }
  drawCurve(state.history);
  if (state.image && state.image !== shownImage && !fetchingImage) fetchImage(state.image);
}

async function fetchImage(version) {
  fetchingImage = true;
  try {
    const response = await fetch(`/image.png?v=${version}`, { cache: "no-store" });
    if (response.status !== 200) return;
    const url = URL.createObjectURL(await response.blob());
    const next = new Image();
    next.src = url;
    await next.decode();
    const image = $("image");
    const old = image.src;
    image.src = url;
    if (old.startsWith("blob:")) URL.revokeObjectURL(old);
    shownImage = Number(response.headers.get("X-Image-Version")) || version;
    $("caption").textContent = `${next.naturalWidth}x${next.naturalHeight} preview`;
  } catch (error) {
    // The next poll tries again.
  } finally {
    fetchingImage = false;
  }
}

function drawCurve(history) {
  const canvas = $("curve"), g = canvas.getContext("2d");
  const W = canvas.width, H = canvas.height, L = 64, R = 12, T = 28, B = 34;
  g.clearRect(0, 0, W, H);
  g.font = "12px sans-serif";
  const points = history.filter((row) => NAMES.some((_, i) => row[i + 1] > 0));
  if (points.length === 0) {
    g.fillStyle = "#666";
    g.fillText("the cost curve appears after the first iteration", L, H / 2);
    return;
  }
  const xs = points.map((row) => row[0]);
  const ys = points.flatMap((row) => row.slice(1, 4).filter((v) => v > 0));
  const x0 = Math.min(...xs), x1 = Math.max(x0 + 1, Math.max(...xs));
  let low = Math.floor(Math.log10(Math.min(...ys))), high = Math.ceil(Math.log10(Math.max(...ys)));
  if (high <= low) high = low + 1;
  const px = (x) => L + ((x - x0) / (x1 - x0)) * (W - L - R);
  const py = (y) => H - B - ((Math.log10(y) - low) / (high - low)) * (H - T - B);
  g.strokeStyle = "#e4e4e4";
  g.fillStyle = "#333";
  g.textAlign = "right";
  g.textBaseline = "middle";
  const every = Math.max(1, Math.ceil((high - low) / 8));
  for (let d = low; d <= high; d += 1) {
    g.beginPath(); g.moveTo(L, py(10 ** d)); g.lineTo(W - R, py(10 ** d)); g.stroke();
    if ((d - low) % every === 0) g.fillText(`1e${d}`, L - 6, py(10 ** d));
  }
  g.textAlign = "center";
  g.textBaseline = "top";
  for (const tick of ticks(x0, x1)) {
    g.beginPath(); g.moveTo(px(tick), T); g.lineTo(px(tick), H - B); g.stroke();
    g.fillText(String(tick), px(tick), H - B + 6);
  }
  g.textAlign = "right";
  g.fillText("iteration", W - R, H - 14);
  markScales(g, history, px, T, H - B);
  NAMES.forEach((name, i) => drawLine(g, points, i + 1, COLOURS[name], px, py));
  drawLegend(g, L, T);
}

// Round iteration ticks from x0 to x1, 1, 2 or 5 times a power of ten apart (at least 1).
function ticks(x0, x1) {
  const raw = (x1 - x0) / 6, power = 10 ** Math.floor(Math.log10(raw));
  const step = Math.max(1, [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw));
  const found = [];
  for (let t = Math.ceil(x0 / step) * step; t <= x1; t += step) found.push(t);
  return found;
}

function markScales(g, history, px, top, bottom) {
  g.save();
  g.setLineDash([4, 4]);
  g.strokeStyle = "#999";
  for (let k = 1; k < history.length; k += 1) {
    if (history[k][4] === history[k - 1][4]) continue;
    const x = px(history[k][0]);
    g.beginPath(); g.moveTo(x, top); g.lineTo(x, bottom); g.stroke();
  }
  g.restore();
}

function drawLine(g, points, column, colour, px, py) {
  g.strokeStyle = colour;
  g.lineWidth = 2;
  g.beginPath();
  let drawing = false;
  for (const row of points) {
    const v = row[column];
    if (!(v > 0)) { drawing = false; continue; }
    if (drawing) g.lineTo(px(row[0]), py(v)); else g.moveTo(px(row[0]), py(v));
    drawing = true;
  }
  g.stroke();
  g.lineWidth = 1;
}

function drawLegend(g, left, top) {
  let x = left + 8;
  g.textAlign = "left";
  g.textBaseline = "middle";
  for (const name of NAMES) {
    g.fillStyle = COLOURS[name];
    g.fillRect(x, top - 16, 18, 3);
    g.fillStyle = "#333";
    g.fillText(name, x + 24, top - 15);
    x += 40 + g.measureText(name).width;
  }
}

async function poll() {
  try {
    const response = await fetch("/state.json", { cache: "no-store" });
    show(await response.json());
    failures = 0;
  } catch (error) {
    failures += 1;
    if (failures >= 3) {
      $("status").textContent = "the run has ended: the preview server stopped";
      $("status").className = "status lost";
      return;
    }
  }
  setTimeout(poll, POLL_MS);
}

poll();
