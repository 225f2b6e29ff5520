import { handle } from "@/lib/http/api";
import { listDeliveries } from "@/lib/webhooks/webhooks";
import { listDeliveriesApi } from "../../schemas";

export const GET = handle(listDeliveriesApi, async ({ params, query }) => listDeliveries({ name: params.name, limit: query.limit, before: query.before }));
