"use client";

import { useRouter } from "next/navigation";
import { useEffect } from "react";

/** Re-renders the server component page every few seconds, so states stay live without a reload. */
export function AutoRefresh({ seconds = 5 }: { seconds?: number }) {
  const router = useRouter();
  useEffect(() => {
    const timer = setInterval(() => router.refresh(), seconds * 1000);
    return () => clearInterval(timer);
  }, [router, seconds]);
  return null;
}
