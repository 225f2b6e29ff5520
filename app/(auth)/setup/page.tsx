import { redirect } from "next/navigation";
import { AuthCard } from "@/components/auth-card";
import { SetupForm } from "@/components/setup-form";
import { userCount } from "@/lib/auth/users";
import { MIN_PASSWORD_LENGTH } from "@/lib/auth/passwords";

export const dynamic = "force-dynamic";
export const metadata = { title: "First-run setup" };

export default async function SetupPage() {
  // Open only while no user exists; afterwards it is gone for good.
  if ((await userCount()) > 0) redirect("/login");
  return (
    <AuthCard title="Welcome to Berth" subtitle="Create the first administrator. This page closes once the account exists.">
      <SetupForm minPasswordLength={MIN_PASSWORD_LENGTH} />
    </AuthCard>
  );
}
