import { redirect } from "next/navigation";
import { AuthCard } from "@/components/auth-card";
import { LoginForm } from "@/components/login-form";
import { userCount } from "@/lib/auth/users";

export const dynamic = "force-dynamic";
export const metadata = { title: "Sign in" };

// Only same-site paths: an absolute callback URL would make this an open redirect.
function safeCallback(value: string | undefined) {
  return value && value.startsWith("/") && !value.startsWith("//") ? value : "/";
}

export default async function LoginPage({ searchParams }: { searchParams: Promise<{ callbackUrl?: string }> }) {
  if ((await userCount()) === 0) redirect("/setup");
  const { callbackUrl } = await searchParams;
  return (
    <AuthCard title="Sign in" subtitle="Use the account your Berth administrator gave you.">
      <LoginForm callbackUrl={safeCallback(callbackUrl)} />
    </AuthCard>
  );
}
