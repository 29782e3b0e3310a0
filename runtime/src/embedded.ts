/** Entry point: API and worker in one process (`npm run runtime`): no server needed at all. */
import { start } from "./main";

start("embedded");
