/* A stand-in bcryptprimitives.dll for the Wine prefix the Windows tests run in (scripts/windows).
 *
 * Rust's std (1.78 and later) gets random bytes from ProcessPrng in bcryptprimitives.dll, which
 * every Windows 10 and 11 has; Debian's Wine 8 does not ship the DLL, so a Windows build of
 * synergy-ls does not start under it. This forwards ProcessPrng to RtlGenRandom
 * (advapi32's SystemFunction036), which Wine has. Only for tests: real Windows has its own.
 *
 * Build: x86_64-w64-mingw32-gcc-posix -shared -O2 -o bcryptprimitives.dll bcryptprimitives.c -ladvapi32
 */
#include <windows.h>

BOOLEAN NTAPI SystemFunction036(PVOID buffer, ULONG length);

/* BOOL ProcessPrng(PBYTE pbData, SIZE_T cbData): fills cbData bytes; always TRUE on Windows. */
__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length) {
    while (length > 0) {
        ULONG chunk = length > 0x40000000 ? 0x40000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk)) {
            return FALSE;
        }
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
