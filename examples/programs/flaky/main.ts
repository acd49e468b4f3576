// A service that fails: it exits with code 1 half a second after it starts. With `restart: on-failure` the init
// starts it again, waiting twice as long each time (up to the backoff's maxMs).
const failInMs: number = 500;

console.log(`flaky: started (pid ${process.pid}), failing in ${failInMs} ms`);
setTimeout(() => {
  console.error('flaky: something went wrong, exiting with code 1');
  process.exit(1);
}, failInMs);
