package kvm_test

import (
	"errors"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/uaaf/uaaf/hypervisor/kvm"
	"github.com/uaaf/uaaf/hypervisor/kvmtest"
)

// TestNewMachine creates a machine on the real device and checks that its
// vCPU answers ioctls and that Close releases every KVM fd, twice safely.
func TestNewMachine(t *testing.T) {
	kvmtest.Require(t)
	before := kvmtest.KVMFDs(t)
	m, err := kvm.NewMachine(kvm.DefaultPath)
	if err != nil {
		t.Fatal(err)
	}
	if m.Sys == nil || m.VM == nil || m.VCPU == nil || m.VCPU.ID() != 0 {
		t.Fatalf("machine %+v, want device, VM and vCPU 0", m)
	}
	if khz, err := m.VCPU.TSCKHz(); err != nil || khz == 0 {
		t.Errorf("TSCKHz = %d, %v", khz, err)
	}
	if got := kvmtest.KVMFDs(t); got != before+3 {
		t.Errorf("KVM fds: %d open, want %d (device, VM, vCPU)", got, before+3)
	}
	m.Close()
	m.Close()
	if got := kvmtest.KVMFDs(t); got != before {
		t.Errorf("KVM fds after Close: %d, want %d", got, before)
	}
}

func TestNewMachineErrors(t *testing.T) {
	tests := []struct {
		name, path string
		want       error // nil: any error
	}{
		{"missing device", "/nonexistent/kvm", kvm.ErrNoKVM},
		{"not a KVM device", "/dev/null", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := kvm.NewMachine(tt.path)
			if err == nil {
				m.Close()
				t.Fatal("NewMachine succeeded")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
			p := kvm.StartMachine(tt.path)
			if vm := p.WaitVM(); vm != nil {
				t.Errorf("WaitVM = %v, want nil: creation failed before the VM", vm)
			}
			if _, perr := p.Wait(); perr == nil || perr.Error() != err.Error() {
				t.Errorf("StartMachine: err %v, want the same as NewMachine's (%v)", perr, err)
			}
			kvm.StartMachine(tt.path).Discard() // no machine: must not panic
		})
	}
}

// TestStartMachine checks the asynchronous form: the VM can take memory
// before the vCPU exists, Wait hands over a working machine, and Discard of
// an unwanted one leaves no KVM fd behind.
func TestStartMachine(t *testing.T) {
	kvmtest.Require(t)
	before := kvmtest.KVMFDs(t)
	p := kvm.StartMachine(kvm.DefaultPath)
	if p.Path() != kvm.DefaultPath {
		t.Errorf("Path = %q", p.Path())
	}
	ram, err := unix.Mmap(-1, 0, 2<<20, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(ram)
	vm := p.WaitVM()
	if vm == nil {
		t.Fatal("WaitVM = nil")
	}
	if err := vm.MapMemory(0, 0, ram, 0); err != nil {
		t.Errorf("MapMemory before the vCPU: %v", err)
	}
	m, err := p.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.VCPU.TSCKHz(); err != nil {
		t.Error(err)
	}
	m.Close()
	kvm.StartMachine(kvm.DefaultPath).Discard()
	if got := kvmtest.KVMFDs(t); got != before {
		t.Errorf("KVM fds: %d, want %d", got, before)
	}
}
