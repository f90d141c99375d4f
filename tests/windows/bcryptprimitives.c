/* A stand-in for Windows's bcryptprimitives.dll, for Wine 8 (Debian 12's), which lacks
 * ProcessPrng: Rust's std (1.78 on) imports it for its random numbers (HashMap's keys), so
 * without it every Rust program stops at load time. It fills the buffer from RtlGenRandom
 * (advapi32's SystemFunction036), which Wine has, in pieces of at most what its ULONG length
 * can say. Windows itself never loads this file: tests/windows/run copies it into the Wine
 * prefix only. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    while (len > 0) {
        ULONG chunk = len > 0xFFFFFFFFu ? 0xFFFFFFFFu : (ULONG)len;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
