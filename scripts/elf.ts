// What an ELF file's header says it runs on: enough to check a cross-built binary where
// it cannot be run (no qemu-user). Pure: bytes in, facts or the reason out.

export interface ElfFacts {
  /** e_machine by name: x86-64, aarch64, or the number */
  machine: string;
  bits: 32 | 64;
  endian: "little" | "big";
  type: "exec" | "dyn" | "other";
  /** PT_INTERP's path (the dynamic loader), null for a static binary */
  interpreter: string | null;
}

const MACHINES: Record<number, string> = { 62: "x86-64", 183: "aarch64" };
const PT_INTERP = 3;

export function elfFacts(b: Uint8Array): ElfFacts | string {
  if (b.length < 64 || b[0] !== 0x7f || b[1] !== 0x45 || b[2] !== 0x4c || b[3] !== 0x46) return "not an ELF file";
  if (b[4] !== 2) return "not a 64-bit ELF file";
  if (b[5] !== 1 && b[5] !== 2) return "unknown byte order";
  const le = b[5] === 1;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const u16 = (o: number) => dv.getUint16(o, le);
  const u32 = (o: number) => dv.getUint32(o, le);
  const u64 = (o: number) => Number(dv.getBigUint64(o, le));
  const etype = u16(16);
  const machine = u16(18);
  const phoff = u64(32);
  const phentsize = u16(54);
  const phnum = u16(56);
  let interpreter: string | null = null;
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    if (ph + 56 > b.length) return "program headers run past the end of the file";
    if (u32(ph) !== PT_INTERP) continue;
    const off = u64(ph + 8);
    const size = u64(ph + 32);
    if (off + size > b.length) return "the interpreter path runs past the end of the file";
    interpreter = new TextDecoder().decode(b.subarray(off, off + size)).replace(/\0+$/, "");
  }
  return {
    machine: MACHINES[machine] ?? String(machine),
    bits: 64,
    endian: le ? "little" : "big",
    type: etype === 2 ? "exec" : etype === 3 ? "dyn" : "other",
    interpreter,
  };
}
