import "../tools/dev/main.js";
