import "../server/dev/main.js";
