// The start-up benchmark (tests/tests/startup.rs) reads this mark: the
// heading is in the DOM.
performance.mark("ready");
