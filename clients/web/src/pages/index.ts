import type { PageModule } from "../page.js";
import { deadLettersPage } from "./dead-letters.js";
import { overviewPage } from "./overview.js";
import { queuePage } from "./queue.js";
import { schedulePage } from "./schedule.js";
import { schedulesPage } from "./schedules.js";
import { taskPage } from "./task.js";
import { workersPage } from "./workers.js";

/**
 * Every page, in the navigation bar's order: a new page is one module under `pages/` and one
 * line here.
 */
export const pages: readonly PageModule[] = [overviewPage, queuePage, taskPage, deadLettersPage, workersPage, schedulesPage, schedulePage];
