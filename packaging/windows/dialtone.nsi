; dialtone's Windows installer (issue 18): per user, no administrator, built on Linux by
; Debian's makensis through scripts/package --windows (scripts/lib/package-windows.sh), which
; passes the defines below. Only the plug-ins and headers Debian's nsis ships are used: the
; shortcut's AppUserModelID is set through COM with the System plug-in, as WinShell would.
;
;   -DVERSION=0.1.0        the app's version (Cargo.toml)
;   -DCOMMIT=abcdef123456  the commit the executables were built from
;   -DSOURCE=DIR           dialtone.exe and dialtone.ico (and, with -DDASHBOARD,
;                          dialtone-dashboard.exe and WebView2Loader.dll)
;   -DOUTFILE=PATH         the installer to write
;   -DCOMPRESSOR=lzma|zlib lzma for releases, zlib when speed matters more than size
;
; Switches: /S silent; /AUTOSTART=1 (or 0) starts dialtone at login (or stops doing so; without
; the switch an upgrade keeps the user's choice and a new silent install does not); /D=DIR
; another folder. The uninstaller takes /S and /PURGE=1 (also delete settings and history).
;
; What the user owns is never under the program's folder: the config and history live in
; %APPDATA%\dialtone, the login ledger and caches in %LOCALAPPDATA%\dialtone (the `directories`
; crate's places for ProjectDirs "dialtone"), and the password in the Credential Manager. So an
; upgrade, which replaces the program's folder, keeps them, and so does an uninstall unless
; asked to purge.

!ifndef VERSION
  !error "scripts/package --windows passes VERSION, COMMIT, SOURCE and OUTFILE"
!endif
!ifndef COMMIT
  !error "scripts/package --windows passes VERSION, COMMIT, SOURCE and OUTFILE"
!endif
!ifndef SOURCE
  !error "scripts/package --windows passes VERSION, COMMIT, SOURCE and OUTFILE"
!endif
!ifndef OUTFILE
  !error "scripts/package --windows passes VERSION, COMMIT, SOURCE and OUTFILE"
!endif
!ifndef COMPRESSOR
  !define COMPRESSOR lzma
!endif

Unicode true
; The 64-bit stub: dialtone.exe is x86_64, and a 64-bit installer sees the real registry view.
Target amd64-unicode
ManifestDPIAware true
; Per user: everything goes under the user's profile and HKCU, so no UAC prompt.
RequestExecutionLevel user
SetCompressor /SOLID ${COMPRESSOR}

; Kept equal to the platform code: crates/platform/src/windows/notify.rs (the toasts' AUMID)
; and crates/platform/src/windows/autostart.rs (the Run value's name and format);
; tests/windows_installer.rs checks both against the sources.
!define APP_ID "dialtone.dialtone"
!define RUN_KEY "Software\Microsoft\Windows\CurrentVersion\Run"
!define RUN_VALUE "dialtone"
!define UNINSTALL_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\dialtone"
!define SHORTCUT "$SMPROGRAMS\dialtone.lnk"

Name "dialtone"
OutFile "${OUTFILE}"
InstallDir "$LOCALAPPDATA\Programs\dialtone"
; An upgrade goes where the last install went.
InstallDirRegKey HKCU "${UNINSTALL_KEY}" "InstallLocation"
BrandingText "dialtone ${VERSION} (${COMMIT})"
Icon "${SOURCE}\dialtone.ico"
UninstallIcon "${SOURCE}\dialtone.ico"

VIProductVersion "${VERSION}.0"
VIAddVersionKey /LANG=0 "ProductName" "dialtone"
VIAddVersionKey /LANG=0 "ProductVersion" "${VERSION} (${COMMIT})"
VIAddVersionKey /LANG=0 "FileVersion" "${VERSION}"
VIAddVersionKey /LANG=0 "FileDescription" "dialtone installer"
VIAddVersionKey /LANG=0 "LegalCopyright" "MIT OR Apache-2.0"

!include "MUI2.nsh"
!include "LogicLib.nsh"
!include "FileFunc.nsh"
!include "Sections.nsh"
!include "Win\COM.nsh"
!include "Win\Propkey.nsh"

!define MUI_ICON "${SOURCE}\dialtone.ico"
!define MUI_UNICON "${SOURCE}\dialtone.ico"
!define MUI_ABORTWARNING
!define MUI_COMPONENTSPAGE_NODESC
!insertmacro MUI_PAGE_COMPONENTS
!insertmacro MUI_PAGE_INSTFILES
!define MUI_FINISHPAGE_RUN "$INSTDIR\dialtone.exe"
!insertmacro MUI_PAGE_FINISH
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_COMPONENTS
!insertmacro MUI_UNPAGE_INSTFILES

!insertmacro MUI_LANGUAGE "English"
!insertmacro MUI_LANGUAGE "German"

LangString SecProgram ${LANG_ENGLISH} "dialtone (tray, notifications, command line)"
LangString SecProgram ${LANG_GERMAN} "dialtone (Infobereich, Benachrichtigungen, Befehlszeile)"
LangString SecAutostart ${LANG_ENGLISH} "Start at login"
LangString SecAutostart ${LANG_GERMAN} "Bei der Anmeldung starten"
LangString SecPurge ${LANG_ENGLISH} "Also delete my settings and outage history"
LangString SecPurge ${LANG_GERMAN} "Auch meine Einstellungen und den Störungsverlauf löschen"

; Whether a dialtone of this user ran when the installer stopped it (it is started again).
Var AgentWasRunning

; Ends this user's dialtone processes, which hold their executables open: Windows cannot
; replace or delete a running program's file. The agent has no "quit" a script could send, and
; its history is SQLite in WAL mode, which a hard stop does not corrupt. taskkill ends only
; processes this user may end, i.e. their own.
!macro StopDialtone un
Function ${un}StopDialtone
  StrCpy $AgentWasRunning 0
  nsExec::Exec '"$SYSDIR\taskkill.exe" /F /IM dialtone.exe'
  Pop $0
  ${If} $0 == 0
    StrCpy $AgentWasRunning 1
  ${EndIf}
  nsExec::Exec '"$SYSDIR\taskkill.exe" /F /IM dialtone-dashboard.exe'
  Pop $0
  ; A killed process releases its files a moment after it is gone.
  ${If} $AgentWasRunning == 1
    Sleep 500
  ${EndIf}
FunctionEnd
!macroend
!insertmacro StopDialtone ""
!insertmacro StopDialtone "un."

; Gives the shortcut in $0 the toasts' AppUserModelID (System.AppUserModel.ID): Windows shows a
; toast under the name and icon of the Start-menu shortcut carrying its AUMID. CreateShortcut
; cannot set properties, so the .lnk is loaded, given the property and saved through COM.
Function SetShortcutAppId
  Push $1
  Push $2
  Push $3
  Push $4
  Push $5
  Push $6
  !insertmacro ComHlpr_CreateInProcInstance ${CLSID_ShellLink} ${IID_IShellLink} r1 ""
  ${If} $1 P<> 0
    ${IUnknown::QueryInterface} $1 '("${IID_IPersistFile}",.r2)'
    ${If} $2 P<> 0
      ${IPersistFile::Load} $2 '("$0",${STGM_READWRITE})'
      ${IUnknown::QueryInterface} $1 '("${IID_IPropertyStore}",.r3)'
      ${If} $3 P<> 0
        System::Call '*${SYSSTRUCT_PROPERTYKEY}(${PKEY_AppUserModel_ID})p.r4'
        System::Call '*(&w64 "${APP_ID}")p.r6'
        ; PROPVARIANT { vt = VT_LPWSTR; 6 reserved bytes; pwszVal }
        System::Call '*(&i2 ${VT_LPWSTR},&i6 0,p r6,p 0)p.r5'
        ${IPropertyStore::SetValue} $3 '($4,$5)'
        ${IPropertyStore::Commit} $3 ""
        ${IUnknown::Release} $3 ""
        System::Free $4
        System::Free $5
        System::Free $6
        ${IPersistFile::Save} $2 '("$0",1)'
      ${Else}
        DetailPrint "This Windows has no property store on shortcuts: toasts show no app name."
      ${EndIf}
      ${IUnknown::Release} $2 ""
    ${EndIf}
    ${IUnknown::Release} $1 ""
  ${EndIf}
  Pop $6
  Pop $5
  Pop $4
  Pop $3
  Pop $2
  Pop $1
FunctionEnd

Section "!$(SecProgram)" SecProgram
  SectionIn RO
  Call StopDialtone
  SetOutPath "$INSTDIR"
  File "${SOURCE}\dialtone.exe"
  File "${SOURCE}\dialtone.ico"
!ifdef DASHBOARD
  File "${SOURCE}\dialtone-dashboard.exe"
  File "${SOURCE}\WebView2Loader.dll"
!else
  ; An older install may have had the dashboard: it would not match this agent.
  Delete "$INSTDIR\dialtone-dashboard.exe"
  Delete "$INSTDIR\WebView2Loader.dll"
!endif
  WriteUninstaller "$INSTDIR\uninstall.exe"

  CreateShortcut "${SHORTCUT}" "$INSTDIR\dialtone.exe" "" "$INSTDIR\dialtone.ico" 0 \
    SW_SHOWNORMAL "" "dialtone"
  StrCpy $0 "${SHORTCUT}"
  Call SetShortcutAppId

  ; "Apps & features" lists per-user programs from HKCU.
  ; The AUMID registered for the user too (HKCU\Software\Classes\AppUserModelId): where the
  ; shortcut's property did not take, toasts still show the app's name and icon.
  WriteRegStr HKCU "Software\Classes\AppUserModelId\${APP_ID}" "DisplayName" "dialtone"
  WriteRegStr HKCU "Software\Classes\AppUserModelId\${APP_ID}" "IconUri" "$INSTDIR\dialtone.ico"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "DisplayName" "dialtone"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "Publisher" "dialtone"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "DisplayIcon" "$INSTDIR\dialtone.ico"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  WriteRegStr HKCU "${UNINSTALL_KEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
  WriteRegDWORD HKCU "${UNINSTALL_KEY}" "NoModify" 1
  WriteRegDWORD HKCU "${UNINSTALL_KEY}" "NoRepair" 1
  ${GetSize} "$INSTDIR" "/S=0K" $0 $1 $2
  IntFmt $0 "0x%08X" $0
  WriteRegDWORD HKCU "${UNINSTALL_KEY}" "EstimatedSize" "$0"
SectionEnd

; The same value the app's own "Start at login" writes (crates/platform/src/windows/autostart.rs):
; named dialtone, the quoted executable path, so either can turn it off again.
Section /o "$(SecAutostart)" SecAutostart
  WriteRegStr HKCU "${RUN_KEY}" "${RUN_VALUE}" '"$INSTDIR\dialtone.exe"'
SectionEnd

Section "-autostart off"
  ${IfNot} ${SectionIsSelected} ${SecAutostart}
    DeleteRegValue HKCU "${RUN_KEY}" "${RUN_VALUE}"
  ${EndIf}
SectionEnd

Function .onInit
  ${GetParameters} $R0
  ClearErrors
  ${GetOptions} $R0 "/AUTOSTART=" $R1
  ${IfNot} ${Errors}
    ${If} $R1 == 1
      !insertmacro SelectSection ${SecAutostart}
    ${Else}
      !insertmacro UnselectSection ${SecAutostart}
    ${EndIf}
  ${Else}
    ReadRegStr $R2 HKCU "${RUN_KEY}" "${RUN_VALUE}"
    ReadRegStr $R3 HKCU "${UNINSTALL_KEY}" "InstallLocation"
    ${If} $R2 != ""
      ; Started at login before (by this installer or the app's menu): keep it.
      !insertmacro SelectSection ${SecAutostart}
    ${ElseIf} $R3 == ""
    ${AndIfNot} ${Silent}
      ; A first install by hand: a tray monitor is meant to run from login, and the page
      ; shows the box to untick. A silent one does only what its switches say.
      !insertmacro SelectSection ${SecAutostart}
    ${EndIf}
  ${EndIf}
FunctionEnd

Function .onInstSuccess
  ; The agent the upgrade stopped comes back (the finish page offers it after a manual one).
  ${If} $AgentWasRunning == 1
  ${AndIf} ${Silent}
    Exec '"$INSTDIR\dialtone.exe"'
  ${EndIf}
FunctionEnd

Section "un.$(SecProgram)" SecUnProgram
  SectionIn RO
  Call un.StopDialtone
  Delete "$INSTDIR\dialtone.exe"
  Delete "$INSTDIR\dialtone.ico"
  Delete "$INSTDIR\dialtone-dashboard.exe"
  Delete "$INSTDIR\WebView2Loader.dll"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR"
  Delete "${SHORTCUT}"
  DeleteRegKey HKCU "${UNINSTALL_KEY}"
  DeleteRegKey HKCU "Software\Classes\AppUserModelId\${APP_ID}"
  ; The Run value, when it starts this copy (another copy's stays).
  ReadRegStr $0 HKCU "${RUN_KEY}" "${RUN_VALUE}"
  ${If} $0 == '"$INSTDIR\dialtone.exe"'
    DeleteRegValue HKCU "${RUN_KEY}" "${RUN_VALUE}"
  ${EndIf}
SectionEnd

Section /o "un.$(SecPurge)" SecUnPurge
  RMDir /r "$APPDATA\dialtone"
  RMDir /r "$LOCALAPPDATA\dialtone"
SectionEnd

Function un.onInit
  ${GetParameters} $R0
  ClearErrors
  ${GetOptions} $R0 "/PURGE=" $R1
  ${IfNot} ${Errors}
  ${AndIf} $R1 == 1
    !insertmacro SelectSection ${SecUnPurge}
  ${EndIf}
FunctionEnd
