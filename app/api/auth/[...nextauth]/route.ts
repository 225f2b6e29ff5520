import NextAuth from "next-auth";
import type { NextRequest } from "next/server";
import { requestContextFrom } from "@/lib/auth/actor";
import { authOptions } from "@/lib/auth/next-auth-options";

type Context = { params: Promise<{ nextauth: string[] }> };

function handler(req: NextRequest, context: Context) {
  return NextAuth(req, context, authOptions(requestContextFrom(req.headers)));
}

export { handler as GET, handler as POST };
