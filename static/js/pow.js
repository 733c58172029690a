/* tinbao — optional proof of work for the filing form (portal/antispam).

   When JavaScript is on, fetch a challenge from the server and find a nonce such that
   SHA-256("<challenge>:<nonce>") starts with `difficulty` zero bits, then send
   "<challenge>:<nonce>" in the hidden "pow" field. The server then counts the filing against
   a higher rate limit. Everything here is a bonus: without JavaScript, without Web Crypto
   (plain-HTTP pages that are not a secure context), on any error or after MAX_WAIT_MS, the
   form is sent as it is and the normal limits apply. Nothing leaves this origin. */
(function () {
  "use strict";

  var MAX_WAIT_MS = 15000;      // longest a reporter waits for the puzzle after pressing "Gửi tin"
  var MAX_DIFFICULTY = 24;      // refuse absurd puzzles rather than spin
  var BATCH = 128;              // digests computed in parallel per round

  var form = document.querySelector("form[data-pow-url]");
  if (!form || !window.fetch || !window.Promise || !window.TextEncoder ||
      !window.crypto || !window.crypto.subtle) {
    return;
  }
  var field = form.querySelector("input[name=pow]");
  var statusLine = form.querySelector("[data-pow-status]");
  if (!field) {
    return;
  }
  var encoder = new TextEncoder();

  function zeroBits(buffer) {
    var bytes = new Uint8Array(buffer);
    var bits = 0;
    for (var i = 0; i < bytes.length; i++) {
      if (bytes[i] === 0) {
        bits += 8;
        continue;
      }
      var b = bytes[i];
      while ((b & 0x80) === 0) {
        bits += 1;
        b <<= 1;
      }
      return bits;
    }
    return bits;
  }

  function search(challenge, difficulty, start, deadline) {
    if (Date.now() > deadline) {
      return Promise.resolve(null);
    }
    var rounds = [];
    for (var n = start; n < start + BATCH; n++) {
      rounds.push(crypto.subtle.digest("SHA-256", encoder.encode(challenge + ":" + n)));
    }
    return Promise.all(rounds).then(function (digests) {
      for (var i = 0; i < digests.length; i++) {
        if (zeroBits(digests[i]) >= difficulty) {
          return challenge + ":" + (start + i);
        }
      }
      return search(challenge, difficulty, start + BATCH, deadline);
    });
  }

  var solving = null;
  var expiresAt = 0;

  function solve() {
    var deadline = Date.now() + 60000;
    solving = fetch(form.getAttribute("data-pow-url"), {
      credentials: "same-origin", cache: "no-store", headers: { "Accept": "application/json" }
    }).then(function (response) {
      if (!response.ok) {
        return null;
      }
      return response.json();
    }).then(function (data) {
      if (!data || typeof data.challenge !== "string" || typeof data.difficulty !== "number" ||
          data.difficulty > MAX_DIFFICULTY) {
        return null;
      }
      // Leave a minute's margin before the server stops accepting the challenge.
      expiresAt = Date.now() + Math.max((data.expires_in || 300) - 60, 30) * 1000;
      return search(data.challenge, data.difficulty, 0, deadline);
    }).catch(function () {
      return null;
    });
    return solving;
  }

  // Start while the reporter is still typing, so that sending is not delayed.
  form.addEventListener("input", function () {
    if (!solving) {
      solve();
    }
  }, { once: true });

  var sending = false;
  form.addEventListener("submit", function (event) {
    if (sending) {
      event.preventDefault();
      return;
    }
    sending = true;
    event.preventDefault();
    if (statusLine) {
      statusLine.hidden = false;
    }
    var pending = solving;
    if (!pending || (expiresAt !== 0 && Date.now() > expiresAt)) {
      pending = solve();
    }
    var timeout = new Promise(function (resolve) {
      setTimeout(function () { resolve(null); }, MAX_WAIT_MS);
    });
    Promise.race([pending, timeout]).then(function (solution) {
      if (solution) {
        field.value = solution;
      }
    }).catch(function () {
      /* send without it */
    }).then(function () {
      // form.submit() sends without firing "submit" again.
      form.submit();
    });
  });
}());
