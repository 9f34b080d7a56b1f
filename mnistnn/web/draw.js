// mnistnn draw: the drawing pad, and what the network makes of it, read live from the
// local JSON API (GET /api/model, POST /api/classify, GET /api/imagine/<digit>.png).
'use strict';

const $ = (selector) => document.querySelector(selector);
const INK = '#1b1f2a';
const UNITS = 12;                                  // hidden units shown
const SIZES = { digit: [280, 280], number: [700, 280] };   // the image sent, in pixels
const NARROW = window.matchMedia('(max-width: 700px)');      // a phone: a less wide pad

const state = {
  mode: 'digit', noun: 'digit', nouns: 'single digits', strokes: [], current: null, model: null,
  pending: false, again: false, readings: 0,
};

// -- the drawing pad -------------------------------------------------------------------
// Strokes are kept in the sent image's pixels; the visible canvas is drawn at the screen's
// resolution, the sent one at SIZES[mode], so both come from the same list of strokes.

const pad = $('#pad');

function logicalSize() { return SIZES[state.mode]; }

function paint(canvas, scale) {
  const ctx = canvas.getContext('2d');
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.setTransform(scale, 0, 0, scale, 0, 0);
  for (const stroke of state.strokes) paintStroke(ctx, stroke, 0);
}

function paintStroke(ctx, stroke, from) {
  const p = stroke.points;
  ctx.strokeStyle = INK;
  ctx.fillStyle = INK;
  ctx.lineWidth = stroke.width;
  ctx.lineCap = 'round';
  ctx.lineJoin = 'round';
  if (p.length === 1) {
    ctx.beginPath();
    ctx.arc(p[0][0], p[0][1], stroke.width / 2, 0, 2 * Math.PI);
    ctx.fill();
    return;
  }
  ctx.beginPath();
  ctx.moveTo(p[Math.max(from - 1, 0)][0], p[Math.max(from - 1, 0)][1]);
  for (let i = Math.max(from, 1); i < p.length; i++) ctx.lineTo(p[i][0], p[i][1]);
  ctx.stroke();
}

function padScale() { return pad.width / logicalSize()[0]; }

function fitPad() {
  const [w, h] = logicalSize();
  $('#paper').style.aspectRatio = `${w} / ${h}`;
  const css = pad.getBoundingClientRect().width || w;
  const scale = Math.min(4, Math.max(1, css * (window.devicePixelRatio || 1) / w));
  pad.width = Math.round(w * scale);
  pad.height = Math.round(h * scale);
  const boxes = $('#boxes');
  boxes.setAttribute('viewBox', `0 0 ${w} ${h}`);
  paint(pad, padScale());
}

function point(event) {
  const rect = pad.getBoundingClientRect();
  const [w, h] = logicalSize();
  return [(event.clientX - rect.left) * w / rect.width, (event.clientY - rect.top) * h / rect.height];
}

pad.addEventListener('pointerdown', (event) => {
  if (state.current || (event.pointerType === 'mouse' && event.button !== 0)) return;
  event.preventDefault();
  try { pad.setPointerCapture(event.pointerId); } catch (error) { /* a synthetic pointer */ }
  state.current = { id: event.pointerId, width: +$('#brush').value, points: [point(event)] };
  state.strokes.push(state.current);
  const ctx = pad.getContext('2d');
  paintStroke(ctx, state.current, 0);
  changed();
});

pad.addEventListener('pointermove', (event) => {
  const stroke = state.current;
  if (!stroke || event.pointerId !== stroke.id) return;
  const from = stroke.points.length;
  const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
  for (const e of (events.length ? events : [event])) stroke.points.push(point(e));
  paintStroke(pad.getContext('2d'), stroke, from);
  changed();
});

function endStroke(event) {
  if (state.current && event.pointerId === state.current.id) {
    state.current = null;
    changed();
  }
}
pad.addEventListener('pointerup', endStroke);
pad.addEventListener('pointercancel', endStroke);

function undo() {
  if (state.current) return;
  state.strokes.pop();
  paint(pad, padScale());
  changed();
}

function clear() {
  state.strokes = [];
  state.current = null;
  paint(pad, padScale());
  changed();
}

$('#undo').addEventListener('click', undo);
$('#clear').addEventListener('click', clear);
document.addEventListener('keydown', (event) => {
  if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === 'z') {
    event.preventDefault();
    undo();
  } else if (event.key === 'Escape') {
    clear();
  }
});

function showBrush() {
  const dot = $('#brush-dot');
  const size = +$('#brush').value * padScale() / (window.devicePixelRatio || 1);
  dot.style.width = dot.style.height = `${Math.min(34, Math.max(4, size))}px`;
}
$('#brush').addEventListener('input', showBrush);

// -- live reading ----------------------------------------------------------------------
// One request at a time: a change while one is on its way sends the latest drawing as soon
// as the answer is back, so the reading is never more than about one round trip behind.

function changed() {
  const empty = state.strokes.length === 0;
  $('#undo').disabled = empty;
  $('#clear').disabled = empty;
  $('#hint').hidden = !empty;
  if (empty) {
    showNothing();
    return;
  }
  state.again = true;
  state.changedAt = performance.now();
  if (!state.pending) send();
}

function snapshot() {
  const [w, h] = logicalSize();
  const canvas = document.createElement('canvas');
  canvas.width = w;
  canvas.height = h;
  paint(canvas, 1);
  return new Promise((resolve) => canvas.toBlob(resolve, 'image/png'));
}

async function send() {
  state.again = false;
  state.pending = true;
  const changedAt = state.changedAt;
  document.body.dataset.pending = '1';
  const mode = state.mode;
  const query = mode === 'number' ? 'number=1' : `units=${UNITS}`;
  let answer;
  try {
    const blob = await snapshot();
    const response = await fetch(`/api/classify?${query}`, {
      method: 'POST', body: blob, headers: { 'Content-Type': 'image/png' },
    });
    answer = await response.json();
  } catch (error) {
    answer = { error: 'The mnistnn server is not answering: is “mnistnn draw” still running?' };
  }
  state.pending = false;
  document.body.dataset.pending = '0';
  if (state.strokes.length && mode === state.mode) {
    show(answer);
    // How far the reading is behind the drawing: from the last change it includes to now.
    document.body.dataset.lag = String(Math.round(performance.now() - changedAt));
  }
  if (state.again) send();                         // the drawing changed meanwhile
}

// -- showing the answer ----------------------------------------------------------------

function pct(p) { return `${(100 * p).toFixed(1)}%`; }

function className(i) { return state.model ? state.model.classes[i] : String(i); }

function show(answer) {
  state.readings += 1;
  document.body.dataset.readings = String(state.readings);
  $('#answer').classList.toggle('idle', Boolean(answer.error));
  if (answer.error) {
    setAnswer('?');
    $('#answer').classList.remove('reject');
    $('#confidence').textContent = answer.error.replace(/^the posted image: /, '');
    setBars(null, null);
    $('#boxes').replaceChildren();                 // nothing read: no boxes, no digits
    $('#digits').replaceChildren();
    return;
  }
  if (answer.digits) return showNumber(answer);
  const best = answer.digit === null ? answer.closest : answer.digit;
  setAnswer(answer.digit === null ? 'not a digit' : className(best));
  $('#answer').classList.toggle('reject', answer.digit === null);
  $('#bars').classList.toggle('reject', answer.digit === null);
  $('#confidence').textContent = answer.digit === null
    ? `closest: ${className(best)}, ${pct(answer.probabilities[best])}`
    : `${pct(answer.confidence)} sure`;
  setBars(answer.probabilities, best);
  drawGrid($('#seen'), answer.view, ink);
  showUnits(answer.units);
  highlightImagined(answer.digit);
}

function showNumber(answer) {
  const digits = answer.digits;
  const none = answer.number === null;             // no piece is a digit: a star, a line
  const turnedAway = digits.filter((d) => d.digit === null).length;
  setAnswer(none ? (digits.length > 1 ? 'not a number' : 'not a digit') : answer.number);
  $('#answer').classList.toggle('reject', none);
  $('#confidence').textContent = none
    ? `closest: ${digits.map((d) => className(d.closest)).join('')}`
    : turnedAway
      ? `${digits.length} pieces, ${turnedAway} of them (?) not a digit`
      : `${digits.length} digit${digits.length > 1 ? 's' : ''}, ${pct(answer.confidence)} sure of all of them`;
  const list = $('#digits');
  list.replaceChildren(...digits.map((d) => {
    const item = document.createElement('figure');
    const canvas = document.createElement('canvas');
    canvas.width = canvas.height = 28;
    if (d.view) drawGrid(canvas, d.view, ink);
    const caption = document.createElement('figcaption');
    caption.textContent = d.digit === null ? `? not a digit (closest: ${className(d.closest)})`
      : `${className(d.digit)} · ${pct(d.confidence)}`;
    item.append(canvas, caption);
    return item;
  }));
  const boxes = $('#boxes');
  boxes.replaceChildren(...digits.flatMap((d) => box(d)));
  if (digits.length && digits[0].view) drawGrid($('#seen'), digits[0].view, ink);
}

function setAnswer(text) {   // digits in big type; a word (a class name, 'not a digit') smaller
  $('#answer').textContent = text;
  $('#answer').classList.toggle('long', !/^[0-9?]*$/.test(text));
  $('#answer').classList.toggle('many', /^[0-9?]{5,}$/.test(text));   // shrinks to fit a phone
}

function box(d) {
  const [x0, y0, x1, y1] = d.box;
  const ns = 'http://www.w3.org/2000/svg';
  const rect = document.createElementNS(ns, 'rect');
  Object.entries({ x: x0, y: y0, width: x1 - x0, height: y1 - y0, rx: 6 })
    .forEach(([k, v]) => rect.setAttribute(k, v));
  const label = document.createElementNS(ns, 'text');
  label.setAttribute('x', x0 + 4);
  label.setAttribute('y', Math.max(y0 - 6, 18));
  label.textContent = d.digit === null ? '?' : className(d.digit);
  return [rect, label];
}

function showNothing() {
  setAnswer('?');
  $('#answer').classList.add('idle');
  $('#answer').classList.remove('reject');
  $('#confidence').textContent = 'Nothing drawn yet.';
  setBars(null, null);
  drawGrid($('#seen'), null, ink);
  showUnits(null);
  highlightImagined(null);
  $('#boxes').replaceChildren();
  $('#digits').replaceChildren();
}

function makeBars(n) {
  const bars = $('#bars');
  bars.replaceChildren();
  for (let i = 0; i < n; i++) {
    const column = document.createElement('div');
    column.className = 'bar';
    column.innerHTML = '<span class="value"></span><span class="track"><span class="fill"></span></span><span class="label"></span>';
    column.querySelector('.label').textContent = className(i);
    bars.append(column);
  }
}

function setBars(probabilities, best) {
  document.querySelectorAll('#bars .bar').forEach((bar, i) => {
    const p = probabilities ? probabilities[i] : 0;
    bar.dataset.p = p.toFixed(6);
    bar.classList.toggle('best', i === best);
    bar.querySelector('.fill').style.height = `${100 * p}%`;
    bar.querySelector('.value').textContent = p >= 0.005 ? `${Math.round(100 * p)}` : '';
  });
}

// -- small pictures --------------------------------------------------------------------

function ink(v) { const g = Math.round(255 * Math.min(1, Math.max(0, v))); return [g, g, g]; }   // MNIST: white on black

function diverging(v) {   // -1 blue .. 0 white .. 1 red
  const a = Math.min(1, Math.abs(v));
  const to = v >= 0 ? [214, 60, 50] : [40, 100, 210];
  return to.map((c) => Math.round(255 + (c - 255) * a));
}

function drawGrid(canvas, grid, colour) {
  const ctx = canvas.getContext('2d');
  const h = grid ? grid.length : canvas.height;
  const w = grid ? grid[0].length : canvas.width;
  if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; }
  const image = ctx.createImageData(w, h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const [r, g, b] = colour(grid ? grid[y][x] : 0);
      const i = 4 * (y * w + x);
      image.data[i] = r; image.data[i + 1] = g; image.data[i + 2] = b; image.data[i + 3] = 255;
    }
  }
  ctx.putImageData(image, 0, 0);
}

function makeUnits() {
  const units = $('#units');
  units.replaceChildren();
  for (let i = 0; i < UNITS; i++) {
    const tile = document.createElement('figure');
    tile.className = 'unit';
    tile.innerHTML = '<canvas width="28" height="28"></canvas><figcaption><span class="name"></span><span class="strength"><span></span></span></figcaption>';
    units.append(tile);
  }
  showUnits(null);
}

const FEATURE_MAPS = 'The feature maps that respond most to your drawing: where each filter of the first layer finds its pattern.';

function showUnits(found) {
  const tiles = document.querySelectorAll('#units .unit');
  const list = found ? found.units : [];
  const top = list.length ? Math.max(...list.map((u) => u.activation), 1e-9) : 1;
  const colour = found && found.kind === 'feature-map' ? ink : diverging;
  if (found && found.kind === 'feature-map') $('#inside-note').textContent = FEATURE_MAPS;
  tiles.forEach((tile, i) => {
    const unit = list[i];
    tile.classList.toggle('empty', !unit);
    drawGrid(tile.querySelector('canvas'), unit ? unit.picture : null, colour);
    tile.querySelector('.name').textContent = unit
      ? `#${unit.unit}${unit.favours === null ? '' : ` → ${className(unit.favours)}`}` : '';
    tile.querySelector('.name').title = unit && unit.favours !== null
      ? `unit ${unit.unit}; its outgoing weights favour ${className(unit.favours)}` : '';
    tile.querySelector('.strength span').style.width = unit ? `${100 * Math.max(0, unit.activation) / top}%` : '0';
  });
}

function makeImagined(classes) {
  const box = $('#imagined');
  const images = classes.map((name) => {
    const img = new Image(28, 28);
    img.alt = `what the network imagines a ${name} looks like`;
    img.addEventListener('error', () => { $('.imagine').hidden = true; });   // cannot imagine
    return img;
  });
  box.replaceChildren(...classes.map((name, d) => {
    const item = document.createElement('figure');
    const caption = document.createElement('figcaption');
    caption.textContent = name;
    item.append(images[d], caption);
    return item;
  }));
  // One at a time: the server draws all ten on the first request (seconds on a busy
  // machine), and ten requests at once would hold the browser's few connections to it,
  // so that the first reading of a drawing waited behind them.
  images.forEach((img, d) => {
    img.addEventListener('load', () => {
      if (d + 1 < images.length) images[d + 1].src = `/api/imagine/${d + 1}.png`;
      else document.body.dataset.imagined = '1';
    });
    img.addEventListener('error', () => { document.body.dataset.imagined = '1'; });
  });
  images[0].src = '/api/imagine/0.png';
}

function highlightImagined(digit) {
  document.querySelectorAll('#imagined figure').forEach((item, d) => {
    item.classList.toggle('current', d === digit);
  });
}

// -- the model card and the page's modes ----------------------------------------------

function showModel(model) {
  state.model = model;
  word(model);
  // The layer spec's items (784,30,10 or 1x28x28,conv32k5,pool2,256,10); a pool has no unit.
  const items = model.layers ? model.layers.split(',') : model.sizes;
  // A layer's activation follows it, or the batch normalisation (bn) right after it.
  const bare = (n, i) => String(n).startsWith('pool') || items[i + 1] === 'bn';
  const layers = items.map((n, i) => (i === 0 ? `${n} pixels`
    : i === items.length - 1 ? `${n} ${model.output}`
      : bare(n, i) ? n : `${n} ${model.activation}`));
  $('#arch').textContent = layers.join(' → ');
  const accuracy = (v) => (v === null || v === undefined ? null : `${(100 * v).toFixed(2)}%`);
  const rows = [
    ['Loaded', model.source || 'a network given in Python'],
    ['Network', model.description.replace(/,/g, ',\u200b')],   // lines break after commas
    ['Parameters', model.parameters.toLocaleString('en')],
    ['Test accuracy', accuracy(model.test_accuracy) || 'not recorded in the checkpoint'],
    ['Validation accuracy', accuracy(model.validation_accuracy)],
    ['Reads', [state.nouns, model.can.number && 'whole numbers',
      model.can.reject && '“not a digit”'].filter(Boolean).join(', ')],
  ];
  $('#card').replaceChildren(...rows.filter(([, v]) => v).map(([k, v]) => {
    const group = document.createElement('div');
    const dt = document.createElement('dt');
    const dd = document.createElement('dd');
    dt.textContent = k;
    dd.textContent = v;
    group.append(dt, dd);
    return group;
  }));
  $('#mode').hidden = !model.can.number;
  if (String(model.layers || '').includes('conv')) $('#inside-note').textContent = FEATURE_MAPS;
  makeBars(model.classes.length);
  makeImagined(model.classes);
}

// The page's words for a model of something else than digits (Fashion-MNIST's clothes).
const NOUNS = { 'fashion-mnist': ['piece of clothing', 'pieces of clothing'] };

function word(model) {
  const digits = model.classes.every((name, i) => name === String(i));
  [state.noun, state.nouns] = NOUNS[model.dataset] || (digits ? ['digit', 'single digits'] : ['picture', 'pictures']);
  if (digits) return;
  const noun = state.noun;
  $('.tagline').textContent = `Draw a ${noun}. A network written in numpy reads it as you draw.`;
  $('#hint').textContent = `Draw a ${noun} here`;
  $('#bars').setAttribute('aria-label', 'Probability of each class');
  $('#bars').classList.add('named');                 // class names, written upwards
  $('.seen .detail').textContent = ', the picture trimmed to what stands out and scaled so '
    + 'its longer side is 28 pixels, as in Fashion-MNIST';
  $('#inside-note').textContent = 'The hidden units that respond most to your drawing. Each '
    + 'picture is a unit’s incoming weights: ink on red pixels excites it, on blue ones holds '
    + 'it back; → Bag names the class it votes for most.';
  $('.imagine .note').textContent = 'Each class as the network pictures it: a blank image '
    + 'changed, pixel by pixel, until the network is sure.';
  $('.foot code:last-of-type').textContent = 'GET /api/imagine/<class>.png';
}

// The drawing moves to the other pad: centred, shrunk (with its pen) if it would not fit.
function movedStrokes(from, to) {
  const scale = Math.min(1, to[0] / from[0], to[1] / from[1]);
  const dx = (to[0] - from[0] * scale) / 2;
  const dy = (to[1] - from[1] * scale) / 2;
  return state.strokes.map((s) => ({
    ...s, width: s.width * scale, points: s.points.map(([x, y]) => [x * scale + dx, y * scale + dy]),
  }));
}

function setMode(mode) {
  if (mode === state.mode || state.current) return;
  const from = logicalSize();
  state.mode = mode;
  SIZES.number = NARROW.matches ? [560, 280] : [700, 280];
  state.strokes = movedStrokes(from, logicalSize());
  document.body.classList.toggle('number-mode', mode === 'number');
  document.querySelectorAll('#mode button').forEach((b) => b.setAttribute('aria-pressed', String(b.dataset.mode === mode)));
  $('#hint').textContent = mode === 'number' ? 'Write a number here, digit by digit' : `Draw a ${state.noun} here`;
  $('#digits').hidden = mode !== 'number';
  $('#bars').hidden = mode === 'number';
  showNothing();                                   // the other mode's answer is not this one's
  fitPad();
  changed();                                       // read again, in the new mode
}
document.querySelectorAll('#mode button').forEach((b) => b.addEventListener('click', () => setMode(b.dataset.mode)));

async function start() {
  makeUnits();
  fitPad();
  showBrush();
  new ResizeObserver(() => { fitPad(); showBrush(); }).observe(pad);
  try {
    const response = await fetch('/api/model');
    showModel(await response.json());
  } catch (error) {
    $('#arch').textContent = 'The mnistnn server is not answering.';
  }
  document.body.dataset.ready = '1';
}

start();
