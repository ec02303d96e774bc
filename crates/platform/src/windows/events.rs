//! Windows' own word that something changed: the IP Helper's change notifications (interfaces,
//! unicast addresses, routes; `NotifyIpInterfaceChange`, `NotifyUnicastIpAddressChange`,
//! `NotifyRouteChange2`) and the power manager's suspend/resume callback
//! (`PowerRegisterSuspendResumeNotification` with `DEVICE_NOTIFY_CALLBACK`, so no window and no
//! message loop are needed).
//!
//! Windows calls back on threads of its own. Each callback decides whether the notification
//! counts ([`interface_counts`], [`address_counts`], [`route_counts`], [`power_event`]: pure, and
//! tested on every OS) and hands the event to the subscriber, which only raises a flag.
//!
//! Why resume needs the power manager here: the monitor reads a wake from the wall clock running
//! ahead of the monotonic one, but Windows' monotonic clock (`QueryPerformanceCounter`, behind
//! `Instant`) keeps counting through sleep, as Microsoft documents, so that jump never shows.

use crate::events::SystemEvent;
use std::net::IpAddr;

/// `MibInitialNotification`: the echo of a registration, not a change. (dialtone registers
/// without asking for it, but an older or emulated IP Helper may send it all the same.)
const MIB_INITIAL_NOTIFICATION: i32 = 3;

/// `PBT_APMRESUMECRITICAL`, `PBT_APMRESUMESUSPEND`, `PBT_APMRESUMESTANDBY`,
/// `PBT_APMRESUMEAUTOMATIC`: the four ways Windows says the machine is back.
const RESUMES: [u32; 4] = [6, 7, 8, 18];

/// Whether an interface notification of `kind` is worth a look at the network: any but the
/// initial one. (The watcher compares its fingerprint before it tells anyone, so a parameter
/// change that alters nothing dialtone uses costs one reading of the tables.)
pub(crate) fn interface_counts(kind: i32) -> bool {
    kind != MIB_INITIAL_NOTIFICATION
}

/// Whether an address notification counts: not the initial one, and not about a loopback
/// address (`None`: Windows did not say which, so look).
pub(crate) fn address_counts(kind: i32, address: Option<IpAddr>) -> bool {
    kind != MIB_INITIAL_NOTIFICATION && !address.is_some_and(|a| a.is_loopback())
}

/// Whether a route notification counts: about a default route (prefix length 0; `None`:
/// Windows did not say which route, so look). Host and subnet routes (a VPN client's, the
/// neighbour cache's) change nothing the probes use.
pub(crate) fn route_counts(kind: i32, prefix_len: Option<u8>) -> bool {
    kind != MIB_INITIAL_NOTIFICATION && prefix_len.is_none_or(|len| len == 0)
}

/// What a power notification means: a resume, or nothing (going to sleep, the power source or
/// a setting changed).
pub(crate) fn power_event(kind: u32) -> Option<SystemEvent> {
    RESUMES.contains(&kind).then_some(SystemEvent::Resumed)
}

#[cfg(all(windows, test))]
use ffi::simulate;
#[cfg(windows)]
pub(crate) use ffi::{subscribe, Subscription};

/// The registrations and the callbacks Windows calls.
#[cfg(windows)]
#[allow(unsafe_code)] // Win32 registrations and the callbacks they call, with our context.
mod ffi {
    use super::{address_counts, interface_counts, power_event, route_counts};
    use crate::events::SystemEvent;
    use std::ffi::c_void;
    use std::io;
    use std::sync::Mutex;
    use windows_sys::Win32::Foundation::{ERROR_SUCCESS, HANDLE, NO_ERROR};
    use windows_sys::Win32::NetworkManagement::IpHelper::{
        CancelMibChangeNotify2, NotifyIpInterfaceChange, NotifyRouteChange2,
        NotifyUnicastIpAddressChange, MIB_IPFORWARD_ROW2, MIB_IPINTERFACE_ROW,
        MIB_NOTIFICATION_TYPE, MIB_UNICASTIPADDRESS_ROW,
    };
    use windows_sys::Win32::Networking::WinSock::AF_UNSPEC;
    use windows_sys::Win32::System::Power::{
        PowerRegisterSuspendResumeNotification, PowerUnregisterSuspendResumeNotification,
        DEVICE_NOTIFY_SUBSCRIBE_PARAMETERS,
    };
    use windows_sys::Win32::UI::WindowsAndMessaging::DEVICE_NOTIFY_CALLBACK;

    type Deliver = Box<dyn Fn(SystemEvent) + Send + Sync>;

    /// What every callback reaches through its context pointer.
    ///
    /// Never freed: Microsoft documents no guarantee that a power callback already under way
    /// has returned when its unregistration does, so the few bytes stay for the process's
    /// life and a late callback finds the subscriber gone (`None`), never freed memory.
    struct Shared {
        deliver: Mutex<Option<Deliver>>,
        /// The power registration's recipient: Windows reads it while registering.
        params: DEVICE_NOTIFY_SUBSCRIBE_PARAMETERS,
    }

    /// Live registrations; dropping them unregisters and silences the subscriber.
    pub(crate) struct Subscription {
        shared: *const Shared,
        mib: Vec<HANDLE>,
        power: Option<*mut c_void>,
        sources: Vec<&'static str>,
    }

    // The handles and the pointer are only used to unregister, from whichever thread drops the
    // subscription; the shared part is behind a mutex.
    unsafe impl Send for Subscription {}

    impl Subscription {
        pub(crate) fn sources(&self) -> &[&'static str] {
            &self.sources
        }

        /// The context its callbacks get, for [`simulate`].
        #[cfg(test)]
        pub(crate) fn context(&self) -> *const c_void {
            self.shared.cast()
        }
    }

    impl Drop for Subscription {
        fn drop(&mut self) {
            // CancelMibChangeNotify2 waits for a callback of its registration under way
            // (Microsoft: never call it from one, nor holding what one waits for), so it runs
            // before the subscriber's lock is taken, never under it.
            for handle in self.mib.drain(..) {
                unsafe { CancelMibChangeNotify2(handle) };
            }
            if let Some(power) = self.power.take() {
                unsafe { PowerUnregisterSuspendResumeNotification(power as isize) };
            }
            let shared = unsafe { &*self.shared };
            if let Ok(mut deliver) = shared.deliver.lock() {
                *deliver = None;
            }
        }
    }

    /// Registers every source Windows offers here. One that fails (an older Windows, an
    /// emulation without it) is left out and logged by the caller from [`Subscription::sources`];
    /// `Err` only when none could be registered.
    pub(crate) fn subscribe(deliver: Deliver) -> io::Result<Option<Subscription>> {
        // Leaked on purpose (see [`Shared`]); only ever used through this pointer.
        let context: *mut Shared = Box::into_raw(Box::new(Shared {
            deliver: Mutex::new(Some(deliver)),
            params: DEVICE_NOTIFY_SUBSCRIBE_PARAMETERS {
                Callback: Some(on_power),
                Context: std::ptr::null_mut(),
            },
        }));
        unsafe { (*context).params.Context = context.cast() };
        let mut subscription = Subscription {
            shared: context,
            mib: Vec::new(),
            power: None,
            sources: Vec::new(),
        };
        let mut last_error = None;
        let mut registered = |name, rc: u32, handle: HANDLE, subscription: &mut Subscription| {
            if rc == NO_ERROR {
                subscription.mib.push(handle);
                subscription.sources.push(name);
            } else {
                last_error = Some(io::Error::from_raw_os_error(rc as i32));
            }
        };
        let mut handle: HANDLE = std::ptr::null_mut();
        let rc = unsafe {
            NotifyIpInterfaceChange(
                AF_UNSPEC,
                Some(on_interface),
                context.cast(),
                false,
                &mut handle,
            )
        };
        registered("interfaces", rc, handle, &mut subscription);
        let mut handle: HANDLE = std::ptr::null_mut();
        let rc = unsafe {
            NotifyUnicastIpAddressChange(
                AF_UNSPEC,
                Some(on_address),
                context.cast(),
                false,
                &mut handle,
            )
        };
        registered("addresses", rc, handle, &mut subscription);
        let mut handle: HANDLE = std::ptr::null_mut();
        let rc = unsafe {
            NotifyRouteChange2(
                AF_UNSPEC,
                Some(on_route),
                context.cast(),
                false,
                &mut handle,
            )
        };
        registered("routes", rc, handle, &mut subscription);
        let mut power: *mut c_void = std::ptr::null_mut();
        let recipient = unsafe { std::ptr::addr_of_mut!((*context).params) }.cast::<c_void>();
        let rc = unsafe {
            PowerRegisterSuspendResumeNotification(DEVICE_NOTIFY_CALLBACK, recipient, &mut power)
        };
        if rc == ERROR_SUCCESS {
            subscription.power = Some(power);
            subscription.sources.push("resume");
        } else {
            last_error = Some(io::Error::from_raw_os_error(rc as i32));
        }
        match (subscription.sources.is_empty(), last_error) {
            (true, Some(e)) => Err(e),
            _ => Ok(Some(subscription)),
        }
    }

    /// Calls the callbacks as Windows would, with rows it would send, on `context` (a
    /// subscription's, live or dropped): what the tests under wine use, since wine sends no
    /// notifications of its own.
    #[cfg(test)]
    pub(crate) fn simulate(context: *const c_void, notification: super::tests::Simulated) {
        use super::tests::Simulated;
        use windows_sys::Win32::NetworkManagement::IpHelper::{
            MibAddInstance, MibInitialNotification,
        };
        let kind = |initial| {
            if initial {
                MibInitialNotification
            } else {
                MibAddInstance
            }
        };
        // The rows are zeroed structures Windows would fill; the callbacks read only the
        // fields set here.
        unsafe {
            match notification {
                Simulated::Route {
                    prefix_len,
                    initial,
                } => {
                    let mut row: MIB_IPFORWARD_ROW2 = std::mem::zeroed();
                    row.DestinationPrefix.PrefixLength = prefix_len;
                    on_route(context, &row, kind(initial));
                }
                Simulated::Interface { initial } => {
                    let row: MIB_IPINTERFACE_ROW = std::mem::zeroed();
                    on_interface(context, &row, kind(initial));
                }
                Simulated::Power(kind) => {
                    on_power(context, kind, std::ptr::null());
                }
            }
        }
    }

    /// # Safety
    /// `context` is null or the [`Shared`] a subscription registered.
    unsafe fn deliver(context: *const c_void, event: SystemEvent) {
        if context.is_null() {
            return;
        }
        let shared = unsafe { &*context.cast::<Shared>() };
        if let Ok(deliver) = shared.deliver.lock() {
            if let Some(deliver) = deliver.as_ref() {
                deliver(event);
            }
        }
    }

    unsafe extern "system" fn on_interface(
        context: *const c_void,
        _row: *const MIB_IPINTERFACE_ROW,
        kind: MIB_NOTIFICATION_TYPE,
    ) {
        if interface_counts(kind) {
            unsafe { deliver(context, SystemEvent::NetworkChanged) };
        }
    }

    unsafe extern "system" fn on_address(
        context: *const c_void,
        row: *const MIB_UNICASTIPADDRESS_ROW,
        kind: MIB_NOTIFICATION_TYPE,
    ) {
        // The row is null for the initial notification; otherwise the address concerned.
        let address =
            unsafe { row.as_ref() }.and_then(|row| crate::windows::net::ip_of_inet(&row.Address));
        if address_counts(kind, address) {
            unsafe { deliver(context, SystemEvent::NetworkChanged) };
        }
    }

    unsafe extern "system" fn on_route(
        context: *const c_void,
        row: *const MIB_IPFORWARD_ROW2,
        kind: MIB_NOTIFICATION_TYPE,
    ) {
        let prefix_len = unsafe { row.as_ref() }.map(|row| row.DestinationPrefix.PrefixLength);
        if route_counts(kind, prefix_len) {
            unsafe { deliver(context, SystemEvent::NetworkChanged) };
        }
    }

    unsafe extern "system" fn on_power(
        context: *const c_void,
        kind: u32,
        _setting: *const c_void,
    ) -> u32 {
        if let Some(event) = power_event(kind) {
            unsafe { deliver(context, event) };
        }
        ERROR_SUCCESS
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A notification the tests under wine make the callbacks see (wine sends none itself).
    #[cfg_attr(not(windows), allow(dead_code))]
    #[derive(Debug, Clone, Copy)]
    pub(crate) enum Simulated {
        /// A route came (or, `initial`, the registration's echo).
        Route { prefix_len: u8, initial: bool },
        /// An interface changed.
        Interface { initial: bool },
        /// A power notification of this `PBT_` kind.
        Power(u32),
    }

    #[test]
    fn only_changes_count_never_the_registrations_echo() {
        // MibParameterNotification, MibAddInstance, MibDeleteInstance, MibInitialNotification.
        assert!(interface_counts(0));
        assert!(interface_counts(1));
        assert!(interface_counts(2));
        assert!(!interface_counts(3));
        assert!(route_counts(2, Some(0)));
        assert!(!route_counts(3, Some(0)));
        assert!(address_counts(1, None));
        assert!(!address_counts(3, None));
    }

    #[test]
    fn only_default_routes_and_real_addresses_count() {
        assert!(route_counts(1, Some(0)), "a default route came");
        assert!(!route_counts(1, Some(32)), "a host route");
        assert!(!route_counts(2, Some(24)), "a subnet route went");
        assert!(route_counts(0, None), "unknown route: look");
        let lan: IpAddr = [192, 168, 178, 20].into();
        let loopback: IpAddr = [127, 0, 0, 1].into();
        assert!(address_counts(1, Some(lan)));
        assert!(!address_counts(1, Some(loopback)));
        assert!(!address_counts(
            2,
            Some(std::net::Ipv6Addr::LOCALHOST.into())
        ));
    }

    #[test]
    fn every_resume_is_a_resume_and_nothing_else_is() {
        // PBT_APMRESUMEAUTOMATIC, PBT_APMRESUMESUSPEND, and the legacy two.
        for kind in [18, 7, 6, 8] {
            assert_eq!(power_event(kind), Some(SystemEvent::Resumed), "{kind}");
        }
        // PBT_APMSUSPEND, PBT_APMPOWERSTATUSCHANGE, PBT_POWERSETTINGCHANGE.
        for kind in [4, 10, 0x8013] {
            assert_eq!(power_event(kind), None, "{kind}");
        }
    }

    /// The constants above are Windows' own.
    #[cfg(windows)]
    #[test]
    fn the_constants_are_windows_own() {
        use windows_sys::Win32::NetworkManagement::IpHelper::MibInitialNotification;
        use windows_sys::Win32::UI::WindowsAndMessaging::{
            PBT_APMRESUMEAUTOMATIC, PBT_APMRESUMECRITICAL, PBT_APMRESUMESTANDBY,
            PBT_APMRESUMESUSPEND,
        };
        assert_eq!(MIB_INITIAL_NOTIFICATION, MibInitialNotification);
        assert_eq!(
            RESUMES,
            [
                PBT_APMRESUMECRITICAL,
                PBT_APMRESUMESUSPEND,
                PBT_APMRESUMESTANDBY,
                PBT_APMRESUMEAUTOMATIC
            ]
        );
    }

    /// Under wine: the registrations succeed, and a notification as Windows would send it
    /// reaches the subscriber (wine sends none of its own: its IP Helper registers and never
    /// calls back, and it never suspends); one that does not count, and any after the
    /// subscription is dropped, do not.
    #[cfg(windows)]
    #[test]
    fn registered_notifications_reach_the_subscriber_until_dropped() {
        use std::sync::mpsc;
        let (tx, rx) = mpsc::channel();
        let tx = std::sync::Mutex::new(tx);
        let subscription = subscribe(Box::new(move |event| {
            if let Ok(tx) = tx.lock() {
                let _ = tx.send(event);
            }
        }))
        .expect("the IP Helper and power registrations")
        .expect("Windows has notifications");
        println!("registered: {:?}", subscription.sources());
        for source in ["interfaces", "routes", "resume"] {
            assert!(
                subscription.sources().contains(&source),
                "{source} not registered: {:?}",
                subscription.sources()
            );
        }
        let context = subscription.context();
        for quiet in [
            Simulated::Route {
                prefix_len: 32,
                initial: false,
            },
            Simulated::Interface { initial: true },
            Simulated::Power(4),
        ] {
            simulate(context, quiet);
            assert!(
                rx.try_recv().is_err(),
                "{quiet:?} does not count, yet arrived"
            );
        }
        for (counts, event) in [
            (
                Simulated::Route {
                    prefix_len: 0,
                    initial: false,
                },
                SystemEvent::NetworkChanged,
            ),
            (
                Simulated::Interface { initial: false },
                SystemEvent::NetworkChanged,
            ),
            (Simulated::Power(18), SystemEvent::Resumed),
        ] {
            simulate(context, counts);
            assert_eq!(rx.try_recv().ok(), Some(event), "{counts:?}");
        }

        // Unregistered: a callback that comes late finds the context, silent.
        drop(subscription);
        simulate(context, Simulated::Power(18));
        assert!(
            rx.try_recv().is_err(),
            "a late callback reached a dropped subscriber"
        );
    }
}
