/*
 * JrFill: fill in an XForm with JavaRosa, the form engine inside ODK Collect, and print the
 * submission XML exactly as Collect would send it (see shared/protocol/real-clients.md section 2).
 *
 * It uses only JavaRosa's public API, as found in pyxform's ODK_Validate.jar (JavaRosa 5.1.0):
 * XFormUtils -> FormEntryController/FormEntryModel -> FormDef.initialize -> stepToNextEvent,
 * answering each question as it comes -> FormDef.validate() (= validate(true)) -> FormEntryController
 * .finalizeFormEntry() (FormDef.postProcessInstance) -> XFormSerializingVisitor.
 *
 *   javac -cp ODK_Validate.jar JrFill.java
 *   java -cp ODK_Validate.jar:. JrFill [--media DIR] form.xml [path=value ...]
 *
 * Answers: "hh_code=HH-7", "member#=2" (make that many repeat instances), "member[2]/m_name=An"
 * (repeat indexes count from 1), "location=13.77 109.22 12 5" (a geopoint), "colours=red blue"
 * (select_multiple), "photo=a.jpg" (an image/binary question: the file's name, as Collect stores
 * it). --media DIR is the form's media folder: jr://file/ and jr://file-csv/ references (e.g. a
 * select_one_from_file CSV) are read from there, as Collect reads them from <form>-media/.
 *
 * Exit status: 0 with the XML on stdout; 2 on bad arguments or an answer the form refuses
 * (unknown question, not a choice, constraint violated); 3 when the form does not validate
 * (a required answer is missing or a constraint fails) and so cannot be finalized.
 */

import java.io.File;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.javarosa.core.model.Constants;
import org.javarosa.core.model.FormDef;
import org.javarosa.core.model.FormIndex;
import org.javarosa.core.model.SelectChoice;
import org.javarosa.core.model.ValidateOutcome;
import org.javarosa.core.model.data.DecimalData;
import org.javarosa.core.model.data.GeoPointData;
import org.javarosa.core.model.data.IAnswerData;
import org.javarosa.core.model.data.IntegerData;
import org.javarosa.core.model.data.SelectMultiData;
import org.javarosa.core.model.data.SelectOneData;
import org.javarosa.core.model.data.StringData;
import org.javarosa.core.model.data.helper.Selection;
import org.javarosa.core.model.instance.InstanceInitializationFactory;
import org.javarosa.core.model.instance.TreeReference;
import org.javarosa.core.reference.Reference;
import org.javarosa.core.reference.ReferenceFactory;
import org.javarosa.core.reference.ReferenceManager;
import org.javarosa.core.services.transport.payload.IDataPayload;
import org.javarosa.form.api.FormEntryController;
import org.javarosa.form.api.FormEntryModel;
import org.javarosa.form.api.FormEntryPrompt;
import org.javarosa.model.xform.XFormSerializingVisitor;
import org.javarosa.xform.util.XFormUtils;

public class JrFill {
    static final class Refused extends Exception {
        private static final long serialVersionUID = 1L;
        final int status;

        Refused(int status, String message) {
            super(message);
            this.status = status;
        }
    }

    public static void main(String[] args) throws Exception {
        try {
            System.out.write(run(args));
            System.out.flush();
        } catch (Refused e) {
            System.err.println("JrFill: " + e.getMessage());
            System.exit(e.status);
        }
    }

    static byte[] run(String[] args) throws Exception {
        String form = null;
        File media = null;
        Map<String, String> answers = new LinkedHashMap<>(); // normalised path -> value
        Map<String, String> names = new LinkedHashMap<>(); // normalised path -> path as given
        for (int i = 0; i < args.length; i++) {
            if (args[i].indexOf('\uFFFD') >= 0) { // the JVM decodes argv with the locale's charset
                throw new Refused(2, "argument not decoded as UTF-8 (run with LC_ALL=C.UTF-8): " + args[i]);
            }
            if (args[i].equals("--media") && i + 1 < args.length) {
                media = new File(args[++i]);
            } else if (form == null) {
                form = args[i];
            } else if (args[i].indexOf('=') > 0) {
                int eq = args[i].indexOf('=');
                String path = args[i].substring(0, eq);
                answers.put(normalise(path), args[i].substring(eq + 1));
                names.put(normalise(path), path);
            } else {
                throw new Refused(2, "not a path=value answer: " + args[i]);
            }
        }
        if (form == null) {
            throw new Refused(2, "usage: JrFill [--media DIR] form.xml [path=value ...]");
        }
        if (media != null) {
            ReferenceManager.instance().addReferenceFactory(new MediaFolder(media));
        }

        FormDef fd;
        try (InputStream in = new FileInputStream(form)) {
            fd = XFormUtils.getFormFromInputStream(in);
        }
        FormEntryController fec = new FormEntryController(new FormEntryModel(fd));
        fd.initialize(true, new InstanceInitializationFactory());

        for (int event = fec.stepToNextEvent();
                event != FormEntryController.EVENT_END_OF_FORM;
                event = fec.stepToNextEvent()) {
            FormIndex index = fec.getModel().getFormIndex();
            TreeReference ref = index.getReference();
            if (event == FormEntryController.EVENT_REPEAT
                    || event == FormEntryController.EVENT_PROMPT_NEW_REPEAT) {
                String wanted = answers.get(repeatKey(ref));
                if (wanted == null) {
                    continue; // keep the instances the form has; add none
                }
                int position = ref.getMultLast(); // instances before this one
                int count = Integer.parseInt(wanted.trim());
                if (event == FormEntryController.EVENT_PROMPT_NEW_REPEAT && position < count) {
                    fec.newRepeat();
                } else if (event == FormEntryController.EVENT_REPEAT && position >= count) {
                    fec.jumpToIndex(fec.deleteRepeat());
                }
            } else if (event == FormEntryController.EVENT_QUESTION) {
                String value = answers.remove(key(ref));
                if (value == null) {
                    continue;
                }
                String key = names.get(key(ref));
                FormEntryPrompt prompt = fec.getModel().getQuestionPrompt();
                int status = fec.answerQuestion(index, answer(prompt, key, value), true);
                if (status == FormEntryController.ANSWER_CONSTRAINT_VIOLATED) {
                    throw new Refused(2, key + "=" + value + ": constraint violated");
                }
            }
        }
        answers.keySet().removeIf(k -> k.endsWith("#"));
        if (!answers.isEmpty()) {
            List<String> unknown = new ArrayList<>();
            answers.keySet().forEach(k -> unknown.add(names.get(k)));
            throw new Refused(2, "no such question in the form: " + unknown);
        }

        ValidateOutcome outcome = fd.validate(); // = validate(true), i.e. marking the form complete
        if (outcome != null) {
            String why = outcome.outcome == FormEntryController.ANSWER_REQUIRED_BUT_EMPTY
                    ? "a required question is unanswered"
                    : "a constraint is violated";
            throw new Refused(3, "form does not validate: " + why + " at "
                    + outcome.failedPrompt.getReference().toString(false));
        }
        fec.finalizeFormEntry();

        IDataPayload payload = new XFormSerializingVisitor().createSerializedPayload(fd.getInstance());
        try (InputStream in = payload.getPayloadStream()) {
            return in.readAllBytes();
        }
    }

    static IAnswerData answer(FormEntryPrompt prompt, String key, String value) throws Refused {
        try {
            switch (prompt.getDataType()) {
                case Constants.DATATYPE_INTEGER:
                    return new IntegerData(Integer.parseInt(value.trim()));
                case Constants.DATATYPE_DECIMAL:
                    return new DecimalData(Double.parseDouble(value.trim()));
                case Constants.DATATYPE_CHOICE:
                    return new SelectOneData(select(prompt, key, value.trim()));
                case Constants.DATATYPE_CHOICE_LIST:
                    List<Selection> selections = new ArrayList<>();
                    for (String v : value.trim().split("\\s+")) {
                        selections.add(select(prompt, key, v));
                    }
                    return new SelectMultiData(selections);
                case Constants.DATATYPE_GEOPOINT:
                    String[] parts = value.trim().split("\\s+");
                    double[] point = new double[parts.length];
                    for (int i = 0; i < parts.length; i++) {
                        point[i] = Double.parseDouble(parts[i]);
                    }
                    return new GeoPointData(point);
                case Constants.DATATYPE_TEXT:
                case Constants.DATATYPE_BARCODE:
                case Constants.DATATYPE_BINARY: // Collect stores the attached file's name
                    return new StringData(value);
                default:
                    throw new Refused(2, key + ": data type " + prompt.getDataType()
                            + " is not supported by JrFill");
            }
        } catch (NumberFormatException e) {
            throw new Refused(2, key + "=" + value + ": not a number");
        }
    }

    /** The choice with this value, as Collect's widgets select it (from the loaded list). */
    static Selection select(FormEntryPrompt prompt, String key, String value) throws Refused {
        List<SelectChoice> choices = prompt.getSelectChoices();
        if (choices != null) {
            for (SelectChoice choice : choices) {
                if (choice.getValue().equals(value)) {
                    return choice.selection();
                }
            }
        }
        throw new Refused(2, key + "=" + value + ": not one of the choices (is --media needed?)");
    }

    /** "member[1]/m_name" for /data/member[1]/m_name[1]: the root dropped, [1] added to a step without an index. */
    static String key(TreeReference ref) {
        StringBuilder out = new StringBuilder();
        for (int i = 1; i < ref.size(); i++) {
            out.append(i > 1 ? "/" : "").append(ref.getName(i));
            out.append('[').append(Math.max(ref.getMultiplicity(i), 0) + 1).append(']');
        }
        return out.toString();
    }

    /** "member#" for any instance of /data/member: its count. */
    static String repeatKey(TreeReference ref) {
        String full = key(ref);
        return full.substring(0, full.lastIndexOf('[')) + "#";
    }

    static String normalise(String path) {
        boolean count = path.endsWith("#");
        String[] steps = (count ? path.substring(0, path.length() - 1) : path).split("/");
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < steps.length; i++) {
            out.append(i > 0 ? "/" : "").append(steps[i]);
            boolean last = i == steps.length - 1;
            if (!steps[i].endsWith("]") && !(count && last)) {
                out.append("[1]");
            }
        }
        return count ? out + "#" : out.toString();
    }

    /** jr://file/NAME and jr://file-csv/NAME -> DIR/NAME, as Collect maps them to <form>-media/. */
    static final class MediaFolder implements ReferenceFactory {
        private final File dir;

        MediaFolder(File dir) {
            this.dir = dir;
        }

        @Override
        public boolean derives(String uri) {
            return uri.startsWith("jr://file/") || uri.startsWith("jr://file-csv/");
        }

        @Override
        public Reference derive(String uri) {
            return new MediaFile(uri, new File(dir, uri.substring(uri.lastIndexOf('/') + 1)));
        }

        @Override
        public Reference derive(String uri, String context) {
            return derive(uri);
        }
    }

    static final class MediaFile implements Reference {
        private final String uri;
        private final File file;

        MediaFile(String uri, File file) {
            this.uri = uri;
            this.file = file;
        }

        @Override
        public boolean doesBinaryExist() {
            return file.exists();
        }

        @Override
        public InputStream getStream() throws IOException {
            return new FileInputStream(file);
        }

        @Override
        public String getURI() {
            return uri;
        }

        @Override
        public String getLocalURI() {
            return file.getAbsolutePath();
        }

        @Override
        public boolean isReadOnly() {
            return true;
        }

        @Override
        public OutputStream getOutputStream() throws IOException {
            throw new IOException("read-only: " + uri);
        }

        @Override
        public void remove() throws IOException {
            throw new IOException("read-only: " + uri);
        }

        @Override
        public Reference[] probeAlternativeReferences() {
            return new Reference[0];
        }
    }
}
