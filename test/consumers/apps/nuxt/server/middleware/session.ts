// Every request's session in event.context.session, its cookie sent as soon as it changes.
import { h3Sessions } from "sessionmanager-js/cookies";
import { accounts } from "../utils/accounts";

export default defineEventHandler(h3Sessions(accounts));
