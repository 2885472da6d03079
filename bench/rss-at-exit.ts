/**
 * Loaded with `node --import` into a benchmarked program: at exit it prints the process's peak
 * resident set size on stderr (`@@maxrss <KiB>`), which the bench reads — the program itself is
 * unchanged, and its RSS is its own, not the bench runner's.
 */
process.on('exit', () => process.stderr.write(`\n@@maxrss ${process.resourceUsage().maxRSS}\n`));
