; The Windows installer of dialtone (the agent and the dashboard), built on Linux with Debian's
; makensis by scripts/package --windows. Per user, no administrator: the programs go to
; %LOCALAPPDATA%\Programs\dialtone, the uninstaller is listed in "Apps & features" under HKCU,
; and "Start at login" is the same per-user Run value the agent's menu writes. The user's config
; (%APPDATA%\dialtone) and history (%LOCALAPPDATA%\dialtone) are never touched: an upgrade
; keeps them, and so does the uninstaller.
;
; Defines (makensis -D): VERSION, SRCDIR (where the .exe files are), OUTFILE; FAST.
; Silent: `setup.exe /S` installs (add /AUTOSTART for start at login), `uninstall.exe /S` removes.

; A 64-bit installer for the 64-bit programs (and the one kind wine64 runs, for the tests).
Target amd64-unicode
!ifdef FAST
  ; scripts/package --windows --fast (the tests): seconds instead of minutes, a larger file.
  SetCompressor zlib
!else
  SetCompressor /SOLID lzma
!endif
RequestExecutionLevel user

!include "FileFunc.nsh"
!include "LogicLib.nsh"
!include "Sections.nsh"

!define APP "dialtone"
!define UNINST_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\dialtone"
!define RUN_KEY "Software\Microsoft\Windows\CurrentVersion\Run"
; The toasts' Application User Model ID (crates/platform/src/windows/notify.rs). Registered
; under HKCU\Software\Classes\AppUserModelId, which is how an unpackaged app's toasts get a name
; and icon on Windows 10/11.
!define AUMID "dialtone.dialtone"

Name "${APP}"
OutFile "${OUTFILE}"
InstallDir "$LOCALAPPDATA\Programs\${APP}"
InstallDirRegKey HKCU "${UNINST_KEY}" "InstallLocation"

Page components
Page directory
Page instfiles
UninstPage uninstConfirm
UninstPage instfiles

Section "dialtone" SecMain
  SectionIn RO
  SetOutPath "$INSTDIR"
  File "${SRCDIR}\dialtone.exe"
  File "${SRCDIR}\dialtone-dashboard.exe"
  File "${SRCDIR}\WebView2Loader.dll"
  WriteUninstaller "$INSTDIR\uninstall.exe"
  CreateShortcut "$SMPROGRAMS\${APP}.lnk" "$INSTDIR\dialtone.exe"
  WriteRegStr HKCU "Software\Classes\AppUserModelId\${AUMID}" "DisplayName" "${APP}"
  WriteRegStr HKCU "Software\Classes\AppUserModelId\${AUMID}" "IconUri" "$INSTDIR\dialtone.exe"
  WriteRegStr HKCU "${UNINST_KEY}" "DisplayName" "${APP}"
  WriteRegStr HKCU "${UNINST_KEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKCU "${UNINST_KEY}" "Publisher" "dialtone developers"
  WriteRegStr HKCU "${UNINST_KEY}" "DisplayIcon" "$INSTDIR\dialtone.exe"
  WriteRegStr HKCU "${UNINST_KEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKCU "${UNINST_KEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  WriteRegStr HKCU "${UNINST_KEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
  WriteRegDWORD HKCU "${UNINST_KEY}" "NoModify" 1
  WriteRegDWORD HKCU "${UNINST_KEY}" "NoRepair" 1
SectionEnd

Section /o "Start at login" SecRun
  WriteRegStr HKCU "${RUN_KEY}" "${APP}" '"$INSTDIR\dialtone.exe"'
SectionEnd

Function .onInit
  ; /AUTOSTART on the command line (for /S) selects "Start at login".
  ${GetParameters} $R0
  ClearErrors
  ${GetOptions} $R0 "/AUTOSTART" $R1
  ${IfNot} ${Errors}
    !insertmacro SelectSection ${SecRun}
  ${EndIf}
FunctionEnd

Section "Uninstall"
  DeleteRegValue HKCU "${RUN_KEY}" "${APP}"
  Delete "$SMPROGRAMS\${APP}.lnk"
  Delete "$INSTDIR\dialtone.exe"
  Delete "$INSTDIR\dialtone-dashboard.exe"
  Delete "$INSTDIR\WebView2Loader.dll"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR"
  DeleteRegKey HKCU "Software\Classes\AppUserModelId\${AUMID}"
  DeleteRegKey HKCU "${UNINST_KEY}"
SectionEnd
