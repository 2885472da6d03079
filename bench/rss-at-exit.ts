/**
 * Loaded with `node --import` into a benchmarked program: at exit it prints the process's peak
 * resident set size on stderr (`@@maxrss <KiB>`) and its CPU time, all threads (`@@cpu <µs>`),
 * which the bench reads — the program itself is unchanged, and the figures are its own, not the
 * bench runner's.
 */
process.on('exit', () => {
  const u = process.resourceUsage();
  process.stderr.write(`\n@@maxrss ${u.maxRSS}\n@@cpu ${u.userCPUTime + u.systemCPUTime}\n`);
});
