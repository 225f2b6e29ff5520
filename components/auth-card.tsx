import { Anchor } from "lucide-react";

export function AuthCard({ title, subtitle, children }: { title: string; subtitle?: string; children: React.ReactNode }) {
  return (
    <main className="flex min-h-screen items-center justify-center bg-slate-100 px-4">
      <div className="w-full max-w-sm rounded-xl border border-slate-200 bg-white p-8 shadow-sm">
        <div className="mb-6 flex items-center gap-2">
          <Anchor aria-hidden className="h-6 w-6 text-sky-600" />
          <span className="text-xl font-semibold tracking-tight">Berth</span>
        </div>
        <h1 className="text-lg font-semibold">{title}</h1>
        {subtitle ? <p className="mt-1 text-sm text-slate-600">{subtitle}</p> : null}
        <div className="mt-6">{children}</div>
      </div>
    </main>
  );
}

export function Field(props: React.InputHTMLAttributes<HTMLInputElement> & { label: string; hint?: string }) {
  const { label, hint, ...input } = props;
  return (
    <label className="mb-4 flex flex-col gap-1 text-sm">
      <span className="font-medium">{label}</span>
      <input {...input} className="rounded-md border border-slate-300 px-3 py-2 focus:border-sky-600 focus:outline-none focus:ring-1 focus:ring-sky-600" />
      {hint ? <span className="text-xs text-slate-500">{hint}</span> : null}
    </label>
  );
}
