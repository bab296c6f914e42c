// The Chromium side of bench/crypto.mjs: the same loop on the page's WebCrypto.
import * as jose from "jose";
import * as jwe from "../../src/crypto/jwe.ts";
import { measure, newKey, payload } from "./cases.mjs";

window.bench = async (size, iterations, warmup) =>
  measure({ jwe, jose, key: await newKey(), data: payload(size), iterations, warmup, batch: 10 });
window.isolated = () => crossOriginIsolated;
