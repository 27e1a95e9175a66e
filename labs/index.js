// The built-in labs' program: the compiled stacks (sources in stacks/ of the bridgelab repository).
module.exports = require("../dist/stacks/index.js");
