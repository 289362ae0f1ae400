// support.js - does this browser have what the client needs? Standard APIs
// only; the answer names what is missing in plain words.

export function missingFeatures({ media = true } = {}) {
  const missing = [];
  if (!('WebSocket' in window)) missing.push('WebSocket connections');
  if (!window.sessionStorage) missing.push('session storage');
  if (!window.isSecureContext) missing.push('a secure (https) connection');
  if (media) {
    if (!('RTCPeerConnection' in window)) missing.push('WebRTC video calls');
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia)
      missing.push('camera and microphone access');
    if (!window.AudioContext) missing.push('Web Audio');
  }
  return missing;
}

// Shows the "browser not supported" section and returns true when
// something is missing.
export function reportUnsupported(section, opts) {
  const missing = missingFeatures(opts);
  if (!missing.length) return false;
  const list = section.querySelector('ul');
  for (const m of missing) {
    const li = document.createElement('li');
    li.textContent = m;
    list.append(li);
  }
  for (const s of document.querySelectorAll('[data-screen]')) s.hidden = s !== section;
  const st = document.getElementById('conn-state');
  if (st) st.textContent = '';
  return true;
}
