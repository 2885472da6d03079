// The daemon serves uPlot's ES module at /board/vendor/uplot.js (daemon/board.ts); its types are the package's.
import uPlot from 'uplot';
export default uPlot;
