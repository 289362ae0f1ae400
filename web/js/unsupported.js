// unsupported.js - loaded only by browsers without ES modules (nomodule):
// says so in plain words. Written in the oldest JavaScript on purpose.
(function () {
  var s = document.getElementById('unsupported');
  if (!s) return;
  var all = document.querySelectorAll('[data-screen]');
  for (var i = 0; i < all.length; i++) all[i].hidden = all[i] !== s;
})();
