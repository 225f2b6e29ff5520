import type { NextAuthOptions } from "next-auth";
import CredentialsProvider from "next-auth/providers/credentials";
import type { RequestContext } from "./actor";
import { SESSION_LIFETIME_SECONDS, signIn, signOut } from "./users";

declare module "next-auth/jwt" {
  interface JWT {
    sid?: string;
  }
}

/**
 * next-auth with the Credentials provider and JWT sessions. The JWT carries
 * only the id of a server-side session row (lib/auth/users.ts), so sign-out
 * revokes it for real. Built per request so that sign-in and sign-out events
 * carry the caller's address and request id into the audit log.
 */
export function authOptions(request: RequestContext): NextAuthOptions {
  return {
    secret: process.env.NEXTAUTH_SECRET,
    session: { strategy: "jwt", maxAge: SESSION_LIFETIME_SECONDS },
    pages: { signIn: "/login", error: "/login" },
    providers: [
      CredentialsProvider({
        name: "Email and password",
        credentials: { email: { label: "Email", type: "email" }, password: { label: "Password", type: "password" } },
        async authorize(credentials) {
          const email = typeof credentials?.email === "string" ? credentials.email : "";
          const password = typeof credentials?.password === "string" ? credentials.password : "";
          if (!email || !password || email.length > 254 || password.length > 1024) return null;
          const result = await signIn({ email, password, request });
          if (!result) return null;
          return { id: result.user.id, email: result.user.email, name: result.user.name, sid: result.sessionId };
        },
      }),
    ],
    callbacks: {
      jwt({ token, user }) {
        if (user && "sid" in user && typeof user.sid === "string") token.sid = user.sid;
        return token;
      },
    },
    events: {
      async signOut({ token }) {
        if (token?.sid) await signOut({ sessionId: token.sid, request });
      },
    },
  };
}
