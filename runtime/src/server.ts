/** Entry point: the HTTP API. */
import { start } from "./main";

start("server");
