"use client";

import { signIn } from "next-auth/react";
import { useState } from "react";
import { apiRequest } from "./api-client";
import { Field } from "./field";

export function SetupForm({ minPasswordLength }: { minPasswordLength: number }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <form
      onSubmit={async (event) => {
        event.preventDefault();
        const form = new FormData(event.currentTarget);
        const email = String(form.get("email") ?? "");
        const password = String(form.get("password") ?? "");
        if (password !== String(form.get("confirm") ?? "")) {
          setError("The two passwords differ.");
          return;
        }
        setBusy(true);
        setError(null);
        const result = await apiRequest("/api/setup", { method: "POST", body: { email, name: String(form.get("name") ?? ""), password } });
        if (!result.ok) {
          setBusy(false);
          setError(result.message);
          return;
        }
        const signedIn = await signIn("credentials", { email, password, redirect: false });
        window.location.assign(signedIn?.ok && !signedIn.error ? "/" : "/login");
      }}
    >
      <Field label="Your name" name="name" autoComplete="name" required maxLength={120} autoFocus />
      <Field label="Email" name="email" type="email" autoComplete="username" required />
      <Field
        label="Password"
        name="password"
        type="password"
        autoComplete="new-password"
        required
        minLength={minPasswordLength}
        hint={`At least ${minPasswordLength} characters.`}
      />
      <Field label="Confirm password" name="confirm" type="password" autoComplete="new-password" required minLength={minPasswordLength} />
      {error ? (
        <p role="alert" className="mb-4 rounded-md bg-rose-50 px-3 py-2 text-sm text-rose-700">
          {error}
        </p>
      ) : null}
      <button type="submit" disabled={busy} className="w-full rounded-md bg-sky-700 px-3 py-2 font-medium text-white hover:bg-sky-800 disabled:opacity-50">
        {busy ? "Creating…" : "Create administrator"}
      </button>
    </form>
  );
}
