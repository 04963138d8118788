// "How this page reached you": asks taplab's /tcpinfo about the connection this very
// request travels on, and draws its handshake and first segments as a small ladder.
// The page works without it; <noscript> in index.html points to the raw JSON instead.
(function () {
  "use strict";
  var box = document.getElementById("tcpinfo");
  if (!box) return;
  var SVG = "http://www.w3.org/2000/svg";

  function el(tag, attrs, text, ns) {
    var e = ns ? document.createElementNS(ns, tag) : document.createElement(tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function sentence(j) {
    var c = j.client, s = j.server, n = j.negotiated;
    var p = el("p");
    p.textContent =
      "Your browser at " + c.address + ":" + c.port + " opened this connection to " +
      s.address + ":" + s.port + ". Its initial sequence number was " + c.isn +
      ", ours " + s.isn + " (Wireshark shows both as 0). It offered MSS " + c.mss +
      ", we offered " + s.mss + "; window scaling " +
      (n.window_scaling ? "on (shift " + n.client_shift + " and " + n.server_shift + ")" : "off") +
      ", SACK " + (n.sack ? "on" : "off") + ", timestamps " + (n.timestamps ? "on" : "off") +
      ". So far: " + j.so_far.segments_from_client + " segments (" + j.so_far.bytes_from_client +
      " bytes) from you, " + j.so_far.segments_to_client + " (" + j.so_far.bytes_to_client +
      " bytes) from us.";
    return p;
  }

  var ROWS = 24; // the handshake, the first request and the start of the answer

  // One row of the ladder is a band of its own: the label's line of text on top, the
  // arrow under it. No line can run through a label (as one did when labels sat on their
  // arrows), and labels of different rows cannot meet. The lane between the two
  // lifelines is as wide as the widest label, measured once the text is on the page.
  var ROW = 30, LABEL_BASELINE = 12, ARROW_TOP = 19, ARROW_DROP = 7;
  var TOP = 30, SIDE = 90, MIN_LANE = 300, LANE_PAD = 24;

  function label(s) {
    // "in_flight" is there for data segments: what the sender has sent and not yet seen
    // acknowledged once this segment left (Wireshark's bytes in flight).
    return "[" + s.flags + "] Seq=" + s.seq + (s.ack === null ? "" : " Ack=" + s.ack) + " Len=" + s.len +
      (s.in_flight == null ? "" : " (" + s.in_flight + " in flight)");
  }

  // Draws the ladder into `parent`. It is put on the page first and laid out after, as
  // text can only be measured (getBBox) once it is rendered.
  function ladder(j, parent) {
    var segs = j.segments.slice(0, ROWS);
    var svg = el("svg", { id: "tcpinfo-ladder", role: "img", "aria-label": "ladder of this connection" }, undefined, SVG);
    parent.appendChild(svg);
    var labels = segs.map(function (s) {
      return svg.appendChild(el("text", { "text-anchor": "middle", class: "label" }, label(s), SVG));
    });
    var widest = labels.reduce(function (m, t) { return Math.max(m, t.getBBox().width); }, 0);
    var left = SIDE, right = SIDE + Math.max(MIN_LANE, Math.ceil(widest) + LANE_PAD);
    var w = right + SIDE, h = TOP + segs.length * ROW + 8;
    svg.setAttribute("viewBox", "0 0 " + w + " " + h);
    svg.setAttribute("width", w);
    svg.setAttribute("height", h);
    svg.appendChild(el("text", { x: left, y: 16, "text-anchor": "middle", class: "who" }, "you (client)", SVG));
    svg.appendChild(el("text", { x: right, y: 16, "text-anchor": "middle", class: "who" }, "taplab (server)", SVG));
    svg.appendChild(el("line", { x1: left, y1: 22, x2: left, y2: h - 4, class: "life" }, undefined, SVG));
    svg.appendChild(el("line", { x1: right, y1: 22, x2: right, y2: h - 4, class: "life" }, undefined, SVG));
    segs.forEach(function (s, i) {
      var y = TOP + i * ROW, fromClient = s.from === "client";
      var x1 = fromClient ? left : right, x2 = fromClient ? right : left;
      var y1 = y + ARROW_TOP, y2 = y1 + ARROW_DROP;
      var kind = /SYN|FIN|RST/.test(s.flags) ? "ctl" : (s.len > 0 ? "data" : "ack");
      labels[i].setAttribute("x", (left + right) / 2);
      labels[i].setAttribute("y", y + LABEL_BASELINE);
      svg.appendChild(el("line", { x1: x1, y1: y1, x2: x2, y2: y2, class: "seg " + kind }, undefined, SVG));
      var back = fromClient ? (x2 - 7) : (x2 + 7);
      svg.appendChild(el("polygon", { points: x2 + "," + y2 + " " + back + "," + (y2 - 4) + " " + back + "," + (y2 + 3), class: "head " + kind }, undefined, SVG));
      // The time stands outside the sender's lifeline, level with the arrow leaving it.
      svg.appendChild(el("text", { x: fromClient ? left - 6 : right + 6, y: y1 + 3, "text-anchor": fromClient ? "end" : "start", class: "time" }, s.t_ms.toFixed(3) + " ms", SVG));
    });
    var found = overlaps(svg);
    // For a reader in the inspector and for the page's test: what touches what (none).
    svg.setAttribute("data-overlaps", found.length);
    if (found.length) svg.setAttribute("data-overlapping", found.join("; "));
  }

  // Whether the segment (x1,y1)-(x2,y2) passes through box b (Liang–Barsky clipping:
  // the part of the segment inside each pair of the box's edges must not be empty).
  function segmentMeetsBox(x1, y1, x2, y2, b) {
    var dx = x2 - x1, dy = y2 - y1, t0 = 0, t1 = 1;
    var p = [-dx, dx, -dy, dy], q = [x1 - b.x, b.x + b.width - x1, y1 - b.y, b.y + b.height - y1];
    for (var i = 0; i < 4; i++) {
      if (p[i] === 0) {
        if (q[i] < 0) return false;
        continue;
      }
      var r = q[i] / p[i];
      if (p[i] < 0) t0 = Math.max(t0, r);
      else t1 = Math.min(t1, r);
      if (t0 > t1) return false;
    }
    return true;
  }

  function boxesMeet(a, b) {
    return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
  }

  // Every text of the drawing against every other text, every line (widened by half its
  // stroke) and every arrowhead, as rendered, and whether it lies inside the drawing: a
  // list of what meets what.
  function overlaps(svg) {
    var view = svg.viewBox.baseVal;
    var all = function (sel) { return Array.prototype.slice.call(svg.querySelectorAll(sel)); };
    var texts = all("text").map(function (t) { return { name: "\"" + t.textContent + "\"", box: t.getBBox() }; });
    var heads = all("polygon").map(function (p, i) { return { name: "arrowhead " + (i + 1), box: p.getBBox() }; });
    var lines = all("line").map(function (l) {
      var n = function (a) { return parseFloat(l.getAttribute(a)); };
      return { name: l.getAttribute("class") + " line at y=" + n("y1"), x1: n("x1"), y1: n("y1"), x2: n("x2"), y2: n("y2"),
               half: (parseFloat(getComputedStyle(l).strokeWidth) || 1) / 2 };
    });
    var found = [];
    texts.forEach(function (a, i) {
      var b = a.box;
      if (b.x < view.x || b.y < view.y || b.x + b.width > view.x + view.width || b.y + b.height > view.y + view.height)
        found.push(a.name + " is cut off at the edge");
      texts.slice(i + 1).concat(heads).forEach(function (other) {
        if (boxesMeet(b, other.box)) found.push(a.name + " meets " + other.name);
      });
      lines.forEach(function (l) {
        var grown = { x: b.x - l.half, y: b.y - l.half, width: b.width + 2 * l.half, height: b.height + 2 * l.half };
        if (segmentMeetsBox(l.x1, l.y1, l.x2, l.y2, grown)) found.push(a.name + " meets the " + l.name);
      });
    });
    return found;
  }

  function states(j) {
    var p = el("p", { class: "note" });
    var more = j.segments_not_listed + Math.max(0, j.segments.length - ROWS);
    p.textContent = "Our side went through: " + j.server_states.map(function (s) { return s.state; }).join(" → ") +
      (more ? ". " + more + " more segments are not drawn." : ".");
    return p;
  }

  fetch("/tcpinfo", { cache: "no-store" })
    .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
    .then(function (j) {
      box.textContent = "";
      box.appendChild(sentence(j));
      ladder(j, box);
      box.appendChild(states(j));
      var a = el("p", { class: "note" });
      a.appendChild(document.createTextNode("Knobs in force: " + j.knobs.summary + ". Raw data: "));
      a.appendChild(el("a", { href: "/tcpinfo" }, "/tcpinfo"));
      box.appendChild(a);
    })
    .catch(function () {
      box.textContent = "This server does not offer /tcpinfo (only taplab serve does).";
    });
})();
